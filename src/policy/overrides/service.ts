import type { Kysely } from "kysely";
import type { Clock } from "../../core/clock.ts";
import { periodsOf } from "../counters.ts";
import { insertOverride, insertReset, listOverrides, revokeOverride, type ListFilter } from "./store.ts";
import { overridesDb, type OverrideTables } from "./tables.ts";
import type { Database } from "../../store/index.ts";
import { capInputSchema, raiseInputSchema, resetInputSchema, type BudgetOverride, type BudgetReset, type CapInput, type RaiseInput, type ResetInput } from "./types.ts";

/** The longest an override may last: a budget raised "for good" is a config change, not an override. */
export const MAX_OVERRIDE_MS = 92 * 86_400_000;

/** A write the caller got wrong (bad scope, an end in the past): the CLI prints it, the admin API answers 400. */
export class OverrideInputError extends Error {
  override readonly name = "OverrideInputError";
}

/**
 * Budget overrides and resets: the one service the CLI (`gatehouse budget …`) and the admin
 * API call. Writes go to the store; every gateway instance reads them within
 * OVERRIDE_POLL_MS, and `onChange` (this process's BudgetOverrideBook.refresh) applies
 * them here at once. Who may call it is the caller's to check: the CLI runs where the store
 * is reachable, the admin API requires an admin.
 */
export class BudgetOverrideService {
  private readonly db: Kysely<OverrideTables>;

  /** `db`: the store (any view of it; the one migration list creates the override tables everywhere). */
  constructor(
    db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly onChange: () => Promise<void> | void = () => undefined,
  ) {
    this.db = overridesDb(db);
  }

  /** +amountUsd on a budget until endsAt. */
  async raise(input: RaiseInput): Promise<BudgetOverride> {
    const parsed = parse(raiseInputSchema, input);
    return this.create({ ...parsed, kind: "raise", amountUsd: parsed.amountUsd });
  }

  /** The budget's limit is limitUsd until endsAt (raises still add on top). */
  async cap(input: CapInput): Promise<BudgetOverride> {
    const parsed = parse(capInputSchema, input);
    return this.create({ ...parsed, kind: "cap", amountUsd: parsed.limitUsd });
  }

  /**
   * Starts the budget's current period over from now: spend before now no longer counts
   * against it. Recorded as an epoch, not by touching the ledger: usage reports still show
   * every row.
   */
  async reset(input: ResetInput): Promise<BudgetReset> {
    const parsed = parse(resetInputSchema, input);
    const now = this.clock.now();
    const { day, month } = periodsOf(now);
    const reset: BudgetReset = { id: crypto.randomUUID(), scope: parsed.scope, period: parsed.period, periodKey: parsed.period === "day" ? day : month, resetAt: now, reason: parsed.reason, actor: parsed.actor, createdAt: now };
    await insertReset(this.db, reset);
    await this.onChange();
    return reset;
  }

  /** Ends an override now (it was a mistake, or is no longer needed). */
  async revoke(id: string, actor: string): Promise<void> {
    if (!(await revokeOverride(this.db, id, actor, this.clock.now()))) throw new OverrideInputError(`no active override with id ${id}; \`gatehouse budget list --all\` lists them`);
    await this.onChange();
  }

  list(filter: ListFilter = {}): Promise<{ overrides: BudgetOverride[]; resets: BudgetReset[] }> {
    return listOverrides(this.db, this.clock.now(), filter);
  }

  private async create(input: { scope: string; period: "day" | "month"; kind: "raise" | "cap"; amountUsd: number; startsAt?: number | undefined; endsAt: number; reason: string; actor: string }): Promise<BudgetOverride> {
    const now = this.clock.now();
    const startsAt = input.startsAt ?? now;
    if (input.endsAt <= now) throw new OverrideInputError(`the override would end at ${new Date(input.endsAt).toISOString()}, which is not in the future`);
    if (input.endsAt <= startsAt) throw new OverrideInputError("the override must end after it starts");
    if (input.endsAt - Math.max(now, startsAt) > MAX_OVERRIDE_MS) throw new OverrideInputError(`an override lasts at most ${MAX_OVERRIDE_MS / 86_400_000} days; change the budget in gatehouse.yaml for longer`);
    const override: BudgetOverride = {
      id: crypto.randomUUID(),
      scope: input.scope,
      period: input.period,
      kind: input.kind,
      amountUsd: input.amountUsd,
      startsAt,
      endsAt: input.endsAt,
      reason: input.reason,
      actor: input.actor,
      createdAt: now,
      revokedAt: null,
      revokedBy: null,
    };
    await insertOverride(this.db, override);
    await this.onChange();
    return override;
  }
}

function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }> } } }, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new OverrideInputError(result.error.issues.map((i) => `${i.path.map(String).join(".") || "input"}: ${i.message}`).join("; "));
}

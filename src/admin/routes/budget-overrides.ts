import { z } from "zod";
import { GatewayError } from "../../core/errors.ts";
import { AnonymousIds, type AdminContext, type AdminService, type AuditDetail } from "../../identity/index.ts";
import { periodsOf } from "../../policy/index.ts";
import { BudgetOverrideService, budgetPeriodSchema, budgetScopeSchema, OverrideInputError, OVERRIDE_POLL_MS, type BudgetOverride, type BudgetReset } from "../../policy/overrides/index.ts";
import type { AppDeps } from "../../core/deps.ts";
import { defineRoute, type AdminRoute } from "../route.ts";

const TAG = "budget overrides";
/** Times as the other admin routes give them. */
const epochMs = z.number().int().describe("epoch milliseconds");

/** Whose budget: exactly one of these (the CLI's --user / --caller-id / --service-account / --group). */
const ownerSchema = z
  .object({
    email: z.string().min(3).max(320).optional().describe("A person, by email: their own per-user budget."),
    callerId: z.string().min(1).max(128).optional().describe("A person or service account by the anonymous id the ledger shows."),
    serviceAccount: z.string().min(1).max(63).optional().describe("A service account, by name: its own per-user budget."),
    group: z.string().min(1).max(128).optional().describe("A group's pool (policy.groups.<name>.budget.group)."),
  })
  .strict();

const overrideBody = ownerSchema
  .extend({
    period: budgetPeriodSchema.default("day"),
    addUsd: z.number().positive().finite().optional().describe("A raise: USD added to the limit (raises add up)."),
    capUsd: z.number().positive().finite().optional().describe("A cap: the limit instead of the configured one (the newest active cap wins; raises add on top)."),
    until: z.number().int().positive().optional().describe("When it stops applying (exclusive), epoch ms; default the end of the current period."),
    forSeconds: z
      .number()
      .int()
      .positive()
      .max(92 * 86_400)
      .optional()
      .describe("How long it applies from now; instead of until."),
    reason: z.string().trim().min(1).max(500).describe("Why (kept with the override and in the audit log)."),
  })
  .strict();

const resetBody = ownerSchema.extend({ period: budgetPeriodSchema.default("day"), reason: z.string().trim().min(1).max(500).describe("Why (kept with the reset and in the audit log).") }).strict();

const overrideSchema = z.object({
  id: z.string(),
  scope: budgetScopeSchema,
  period: budgetPeriodSchema,
  kind: z.enum(["raise", "cap"]),
  amountUsd: z.number().describe("raise: USD added; cap: the limit"),
  startsAt: epochMs,
  endsAt: epochMs.describe("epoch milliseconds, exclusive"),
  state: z.enum(["scheduled", "active", "ended", "revoked"]),
  reason: z.string(),
  actor: z.string(),
  createdAt: epochMs,
  revokedAt: epochMs.nullable(),
  revokedBy: z.string().nullable(),
  appliesWithinMs: z.number().int().describe("Every gateway instance applies a change within this bound (its poll of the store)."),
});

const resetSchema = z.object({
  id: z.string(),
  scope: budgetScopeSchema,
  period: budgetPeriodSchema,
  periodKey: z.string().describe("The period reset: YYYY-MM-DD or YYYY-MM (UTC)"),
  resetAt: epochMs.describe("epoch ms: spend from this instant on counts against the budget"),
  reason: z.string(),
  actor: z.string(),
  appliesWithinMs: z.number().int(),
});

const listQuery = ownerSchema.extend({ all: z.enum(["true", "false"]).optional().describe("true: also ended and revoked overrides, and resets of earlier periods") }).strict();
const listResponse = z.object({ overrides: z.array(overrideSchema), resets: z.array(resetSchema) });
const idParams = z.object({ id: z.string().uuid().describe("The override's id") }).strict();
const revokeResponse = z.object({ id: z.string(), revoked: z.literal(true) });

/**
 * Budget overrides and resets over HTTP: the same service the CLI (`gatehouse budget`) calls
 * (policy/overrides), behind the admin check; every change is in the admin audit log
 * (begun before it runs, settled after), like the service layer's own actions.
 */
export const budgetOverrideRoutes: readonly AdminRoute[] = [
  defineRoute({
    method: "get",
    path: "/budgets/overrides",
    operationId: "listBudgetOverrides",
    summary: "Overrides in force and the current periods' resets (all=true: also ended, revoked and older ones), optionally of one owner",
    tag: TAG,
    query: listQuery,
    response: listResponse,
    handle: async ({ deps, query }) => {
      const owner = ownerGiven(query) ? await scopeOf(deps, query) : undefined;
      const { overrides, resets } = await overridesService(deps).list({ scope: owner, all: query.all === "true" });
      const now = deps.clock.now();
      return { overrides: overrides.map((o) => overrideView(o, now)), resets: resets.map(resetView) };
    },
  }),
  defineRoute({
    method: "post",
    path: "/budgets/overrides",
    operationId: "createBudgetOverride",
    summary: "Raise a budget (addUsd) or replace its limit (capUsd) until a time; by default until the current period ends",
    tag: TAG,
    body: overrideBody,
    response: overrideSchema,
    status: 201,
    handle: async ({ deps, service, ctx, body }) => {
      if ((body.addUsd === undefined) === (body.capUsd === undefined)) throw new GatewayError("bad_request", "Give exactly one of addUsd (a raise) and capUsd (a new limit).");
      if (body.until !== undefined && body.forSeconds !== undefined) throw new GatewayError("bad_request", "Give until or forSeconds, not both.");
      const scope = await scopeOf(deps, body);
      const now = deps.clock.now();
      const { dayEndsAt, monthEndsAt } = periodsOf(now);
      const endsAt = body.forSeconds !== undefined ? now + body.forSeconds * 1000 : body.until !== undefined ? body.until : body.period === "day" ? dayEndsAt : monthEndsAt;
      const kind = body.addUsd !== undefined ? "raise" : "cap";
      const amount = body.addUsd ?? body.capUsd ?? 0;
      const created = await audited(service, ctx, `budget.${kind}`, scope, { period: body.period, amountUsd: amount, endsAt, reason: body.reason }, async () => {
        const o =
          kind === "raise"
            ? await overridesService(deps).raise({ scope, period: body.period, amountUsd: amount, endsAt, reason: body.reason, actor: ctx.actor.name })
            : await overridesService(deps).cap({ scope, period: body.period, limitUsd: amount, endsAt, reason: body.reason, actor: ctx.actor.name });
        return { result: o, detail: { overrideId: o.id } };
      });
      return overrideView(created, deps.clock.now());
    },
  }),
  defineRoute({
    method: "delete",
    path: "/budgets/overrides/{id}",
    operationId: "revokeBudgetOverride",
    summary: "End an override now",
    tag: TAG,
    params: idParams,
    response: revokeResponse,
    handle: async ({ deps, service, ctx, params }) => {
      await audited(service, ctx, "budget.revoke", `override:${params.id}`, {}, async () => {
        await overridesService(deps).revoke(params.id, ctx.actor.name);
        return { result: undefined, detail: {} };
      });
      return { id: params.id, revoked: true as const };
    },
  }),
  defineRoute({
    method: "post",
    path: "/budgets/resets",
    operationId: "resetBudget",
    summary: "Start the current period of a budget over from now: spend so far no longer counts against it (the ledger keeps every row)",
    tag: TAG,
    body: resetBody,
    response: resetSchema,
    status: 201,
    handle: async ({ deps, service, ctx, body }) => {
      const scope = await scopeOf(deps, body);
      const reset = await audited(service, ctx, "budget.reset", scope, { period: body.period, reason: body.reason }, async () => {
        const r = await overridesService(deps).reset({ scope, period: body.period, reason: body.reason, actor: ctx.actor.name });
        return { result: r, detail: { resetId: r.id, periodKey: r.periodKey } };
      });
      return resetView(reset);
    },
  }),
];

function overridesService(deps: AppDeps): BudgetOverrideService {
  return new BudgetOverrideService(deps.db, deps.clock);
}

type Owner = z.infer<typeof ownerSchema>;

function ownerGiven(owner: Owner): boolean {
  return [owner.email, owner.callerId, owner.serviceAccount, owner.group].some((v) => v !== undefined);
}

/** The budget scope the policy keys, from exactly one owner field. */
async function scopeOf(deps: AppDeps, owner: Owner): Promise<string> {
  const given = [owner.email, owner.callerId, owner.serviceAccount, owner.group].filter((v) => v !== undefined);
  if (given.length !== 1) throw new GatewayError("bad_request", "Name exactly one budget owner: email, callerId, serviceAccount or group.");
  let scope: string;
  if (owner.group !== undefined) scope = `group:${owner.group}`;
  else if (owner.callerId !== undefined) scope = `user:${owner.callerId}`;
  else if (owner.serviceAccount !== undefined) {
    const account = await deps.db.selectFrom("service_accounts").select("id").where("name", "=", owner.serviceAccount).executeTakeFirst();
    if (!account) throw new GatewayError("not_found", `No service account named ${owner.serviceAccount}; GET /admin/v1/service-accounts lists them.`);
    scope = `user:${account.id}`;
  } else {
    const email = owner.email ?? "";
    if (!/^[^\s@]+@[^\s@]+$/.test(email.trim())) throw new GatewayError("bad_request", `email must be an email address, got "${email}".`);
    // The person's anonymous id (created now if they never called: the id they will get).
    scope = `user:${await new AnonymousIds(deps.db, deps.clock).idFor(email)}`;
  }
  const checked = budgetScopeSchema.safeParse(scope);
  if (!checked.success) throw new GatewayError("bad_request", `Not a budget owner: ${checked.error.issues[0]?.message ?? scope}.`);
  return scope;
}

/** Audited like the service layer's actions: a `started` row before the change, settled `ok` or `failed` after. */
async function audited<T>(service: AdminService, ctx: AdminContext, action: string, target: string, detail: AuditDetail, run: () => Promise<{ result: T; detail: AuditDetail }>): Promise<T> {
  const entry = await service.audit.begin(ctx, action, target, detail);
  let outcome: { result: T; detail: AuditDetail };
  try {
    outcome = await run();
  } catch (err) {
    const failure = err instanceof OverrideInputError ? new GatewayError(err.message.startsWith("no active override") ? "not_found" : "bad_request", `${err.message}.`) : err;
    const code = failure instanceof GatewayError ? failure.code : "internal";
    await service.audit.settle(entry, "failed", { error: code, message: failure instanceof GatewayError ? failure.message : "internal error" });
    throw failure;
  }
  await service.audit.settle(entry, "ok", outcome.detail);
  return outcome.result;
}

function overrideView(o: BudgetOverride, now: number): z.input<typeof overrideSchema> {
  const state = o.revokedAt !== null ? "revoked" : now >= o.endsAt ? "ended" : now < o.startsAt ? "scheduled" : "active";
  return {
    id: o.id,
    scope: o.scope,
    period: o.period,
    kind: o.kind,
    amountUsd: o.amountUsd,
    startsAt: o.startsAt,
    endsAt: o.endsAt,
    state,
    reason: o.reason,
    actor: o.actor,
    createdAt: o.createdAt,
    revokedAt: o.revokedAt,
    revokedBy: o.revokedBy,
    appliesWithinMs: OVERRIDE_POLL_MS,
  };
}

function resetView(r: BudgetReset): z.input<typeof resetSchema> {
  return { id: r.id, scope: r.scope, period: r.period, periodKey: r.periodKey, resetAt: r.resetAt, reason: r.reason, actor: r.actor, appliesWithinMs: OVERRIDE_POLL_MS };
}

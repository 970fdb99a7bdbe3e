import { userInfo } from "node:os";
import type { Command } from "commander";
import type { Kysely } from "kysely";
import { systemClock } from "../../core/clock.ts";
import { parseSettings } from "../../core/settings.ts";
import { openExistingStore } from "../../adapters/node/existing-store.ts";
import { AnonymousIds, ServiceAccounts } from "../../identity/index.ts";
import { periodsOf } from "../../policy/index.ts";
import { BudgetOverrideService, OVERRIDE_POLL_MS, type BudgetOverride, type BudgetPeriod } from "../../policy/overrides/index.ts";
import type { Database } from "../../store/index.ts";
import { renderTable } from "../table.ts";
import { duration } from "./service-account.ts";

const DATA_DIR_HELP = "data directory of the gateway; env GATEHOUSE_DATA_DIR (DATABASE_URL for PostgreSQL)";

interface WhoOptions {
  user?: string;
  callerId?: string;
  serviceAccount?: string;
  group?: string;
}

/** The four ways to name a budget's owner, on every subcommand that takes one. */
function who(command: Command, required: boolean): Command {
  const note = required ? "one of --user, --caller-id, --service-account, --group is required" : "filter";
  return command
    .option("-u, --user <email>", `a person, by email (their own per-user budget; ${note})`)
    .option("--caller-id <id>", "a person or service account by the anonymous id the ledger shows")
    .option("-s, --service-account <name>", "a service account, by name (its own per-user budget)")
    .option("-g, --group <name>", "a group's pool (policy.groups.<name>.budget.group)");
}

/**
 * `gatehouse budget …`: raise a budget for a while, set a temporary cap, start a period over.
 * Needs the store (the data directory or DATABASE_URL): whoever can run it could edit the
 * store anyway; the admin API (/admin/v1/budgets) requires an admin. Running gateways apply a
 * change within OVERRIDE_POLL_MS.
 */
export function registerBudget(program: Command): void {
  const budget = program
    .command("budget")
    .description(`Budget overrides: raise a person's, service account's or group's budget until a time, set a temporary cap, reset the current period's spend. Running gateways apply a change within ${OVERRIDE_POLL_MS / 1000} s.`);

  who(budget.command("override"), true)
    .description("Raise a budget (--add-usd) or replace its limit (--cap-usd) until a time; by default until the current period ends (tomorrow 00:00 UTC for --period day).")
    .option("-p, --period <period>", "day (UTC daily budget) or month", "day")
    .option("--add-usd <amount>", "USD added to the limit (adds up with other raises)")
    .option("--cap-usd <amount>", "USD the limit is instead of the configured one (the newest cap wins; raises add on top)")
    .option("--until <when>", "when it stops applying: an ISO time (2026-12-02T00:00:00Z) or a duration from now (12h, 3d); default the end of the current period")
    .option("--for <duration>", "how long it applies from now (30m, 12h, 3d); instead of --until")
    .requiredOption("-r, --reason <text>", "required: why (kept with the override)")
    .option("-d, --data-dir <dir>", DATA_DIR_HELP)
    .addHelpText("after", '\nExamples:\n  gatehouse budget override --user alice@example.com --add-usd 50 --reason "demo day"\n  gatehouse budget override --service-account ci-reviewer --cap-usd 5 --for 12h --reason "runaway loop"')
    .action(async (opts: WhoOptions & { period: string; addUsd?: string; capUsd?: string; until?: string; for?: string; reason: string; dataDir?: string }) => {
      const period = parsePeriod(opts.period);
      if ((opts.addUsd === undefined) === (opts.capUsd === undefined)) throw new Error("give exactly one of --add-usd (raise) and --cap-usd (new limit)");
      if (opts.until !== undefined && opts.for !== undefined) throw new Error("give --until or --for, not both");
      const now = systemClock.now();
      const { dayEndsAt, monthEndsAt } = periodsOf(now);
      const endsAt = opts.for !== undefined ? now + duration(opts.for, "--for") : opts.until !== undefined ? instant(opts.until, now) : period === "day" ? dayEndsAt : monthEndsAt;
      await withService(opts.dataDir, async (service, db) => {
        const scope = await resolveScope(db, opts, true);
        const actor = `cli:${userInfo().username}`;
        const created =
          opts.addUsd !== undefined
            ? await service.raise({ scope, period, amountUsd: usd(opts.addUsd, "--add-usd"), endsAt, reason: opts.reason, actor })
            : await service.cap({ scope, period, limitUsd: usd(opts.capUsd ?? "", "--cap-usd"), endsAt, reason: opts.reason, actor });
        process.stdout.write(`${describe(created)} (override ${created.id}); running gateways apply it within ${OVERRIDE_POLL_MS / 1000} s.\n`);
      });
    });

  who(budget.command("reset"), true)
    .description("Start the current period of a budget over from now: spend so far no longer counts against it (the ledger keeps every row; usage reports still show it).")
    .option("-p, --period <period>", "day or month", "day")
    .requiredOption("-r, --reason <text>", "required: why (kept with the reset)")
    .option("-d, --data-dir <dir>", DATA_DIR_HELP)
    .addHelpText("after", '\nExample:\n  gatehouse budget reset --group eng --period month --reason "INC-42: a loop billed twice"')
    .action(async (opts: WhoOptions & { period: string; reason: string; dataDir?: string }) => {
      const period = parsePeriod(opts.period);
      await withService(opts.dataDir, async (service, db) => {
        const scope = await resolveScope(db, opts, true);
        const reset = await service.reset({ scope, period, reason: opts.reason, actor: `cli:${userInfo().username}` });
        process.stdout.write(`reset ${scope}'s ${period === "day" ? "daily" : "monthly"} budget for ${reset.periodKey} at ${iso(reset.resetAt)} (reset ${reset.id}); running gateways apply it within ${OVERRIDE_POLL_MS / 1000} s.\n`);
      });
    });

  who(budget.command("list"), false)
    .description("List overrides in force (or --all, also ended and revoked ones) and resets of the current periods.")
    .option("-a, --all", "include ended and revoked overrides, and resets of earlier periods")
    .option("-d, --data-dir <dir>", DATA_DIR_HELP)
    .action(async (opts: WhoOptions & { all?: boolean; dataDir?: string }) => {
      await withService(opts.dataDir, async (service, db) => {
        const scope = opts.user || opts.callerId || opts.serviceAccount || opts.group ? await resolveScope(db, opts, false) : undefined;
        const { overrides, resets } = await service.list({ scope, all: opts.all === true });
        const now = systemClock.now();
        process.stdout.write(
          `${renderTable(
            ["override id", "budget", "period", "kind", "usd", "from", "until", "state", "reason", "by"],
            overrides.map((o) => [o.id, o.scope, o.period, o.kind, `$${o.amountUsd.toFixed(2)}`, iso(o.startsAt), iso(o.endsAt), state(o, now), o.reason, o.revokedBy ? `${o.actor} (revoked by ${o.revokedBy})` : o.actor]),
          )}\n\n${renderTable(
            ["reset id", "budget", "period", "of", "at", "reason", "by"],
            resets.map((r) => [r.id, r.scope, r.period, r.periodKey, iso(r.resetAt), r.reason, r.actor]),
          )}\n`,
        );
      });
    });

  budget
    .command("revoke")
    .description("End an override now (a reset is not undone: it is a point in time).")
    .argument("<id>", "the override id from `gatehouse budget list`")
    .option("-d, --data-dir <dir>", DATA_DIR_HELP)
    .action(async (id: string, opts: { dataDir?: string }) => {
      await withService(opts.dataDir, async (service) => {
        await service.revoke(id, `cli:${userInfo().username}`);
        process.stdout.write(`revoked override ${id}\n`);
      });
    });
}

async function withService(dataDir: string | undefined, run: (service: BudgetOverrideService, db: Kysely<Database>) => Promise<void>): Promise<void> {
  const settings = parseSettings(process.env, { dataDir });
  // Never creates a store: an override written into a fresh empty one would apply to nothing.
  const db = await openExistingStore(settings);
  try {
    await run(new BudgetOverrideService(db, systemClock), db);
  } finally {
    await db.destroy();
  }
}

/** The budget scope the policy keys: user:<caller id> (people and service accounts) or group:<name>. */
async function resolveScope(db: Kysely<Database>, opts: WhoOptions, required: boolean): Promise<string> {
  const given = [opts.user, opts.callerId, opts.serviceAccount, opts.group].filter((v) => v !== undefined);
  if (given.length !== 1) throw new Error(`name ${required ? "exactly one" : "at most one"} budget owner: --user <email>, --caller-id <id>, --service-account <name> or --group <name>`);
  if (opts.group !== undefined) return `group:${opts.group}`;
  if (opts.callerId !== undefined) return `user:${opts.callerId}`;
  if (opts.serviceAccount !== undefined) return `user:${(await new ServiceAccounts(db, systemClock).byName(opts.serviceAccount)).id}`;
  const email = opts.user ?? "";
  if (!/^[^\s@]+@[^\s@]+$/.test(email.trim())) throw new Error(`--user must be an email address, got "${email}"`);
  // The person's anonymous id (created now if they never called: the id they will get).
  return `user:${await new AnonymousIds(db, systemClock).idFor(email)}`;
}

function parsePeriod(text: string): BudgetPeriod {
  if (text === "day" || text === "month") return text;
  throw new Error(`--period must be day or month, got "${text}"`);
}

function usd(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} must be a positive amount in USD, got "${text}"`);
  return value;
}

function instant(text: string, now: number): number {
  if (/^\d+[mhd]$/.test(text.trim())) return now + duration(text, "--until");
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new Error(`--until must be an ISO time (2026-12-02T00:00:00Z) or a duration (12h), got "${text}"`);
  return at;
}

function describe(o: BudgetOverride): string {
  const what = o.kind === "raise" ? `raised ${o.scope}'s ${o.period === "day" ? "daily" : "monthly"} budget by $${o.amountUsd.toFixed(2)}` : `capped ${o.scope}'s ${o.period === "day" ? "daily" : "monthly"} budget at $${o.amountUsd.toFixed(2)}`;
  return `${what} until ${iso(o.endsAt)}`;
}

function state(o: BudgetOverride, now: number): string {
  if (o.revokedAt !== null) return "revoked";
  if (now >= o.endsAt) return "ended";
  return now < o.startsAt ? "scheduled" : "active";
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

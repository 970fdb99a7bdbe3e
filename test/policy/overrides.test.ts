import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Kysely } from "kysely";
import { GatewayError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { createGovernance } from "../../src/policy/index.ts";
import { BudgetOverrideBook, BudgetOverrideService, OverrideInputError, overridesDb } from "../../src/policy/overrides/index.ts";
import { caller, FixedClock, flatPricer, holder, ledgerRow, request } from "../support/policy.ts";

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);
const HOUR = 3_600_000;
// 1000 bytes of body + 1000 max_tokens = 2000 tokens = $0.002 at the flat $1/M test price.
const PER_REQUEST = 0.002;
const chat = { model: "gpt-5", messages: [{ role: "user", content: "hi" }], max_tokens: 1000 };
const alice = caller("alice", ["eng"]);

let db: Kysely<Database> | undefined;
afterEach(async () => {
  await db?.destroy();
  db = undefined;
});

async function setup(policy: unknown) {
  db = openSqlite(join(mkdtempSync(join(tmpdir(), "gatehouse-overrides-")), "g.db"));
  await migrateToLatest(db);
  const clock = new FixedClock(T0);
  const config = holder({ providers: { openai: {} }, policy });
  const book = new BudgetOverrideBook(overridesDb(db), clock, silentLogger);
  await book.start(undefined);
  const service = new BudgetOverrideService(db, clock, () => book.refresh());
  const g = createGovernance({ config, clock, db, logger: silentLogger, pricer: flatPricer, overrides: book });
  return { db, clock, book, service, ...g };
}

/** Admits and settles one request at its estimate; returns the denial code, or "ok". */
async function spendOne(g: Awaited<ReturnType<typeof setup>>): Promise<string> {
  try {
    const admission = await g.policy.admit(request("openai", "/v1/chat/completions", chat, alice, 1000));
    admission.settle(ledgerRow({ caller_id: "alice", cost_usd: PER_REQUEST, input_tokens: 1000, output_tokens: 1000 }));
    return "ok";
  } catch (err) {
    return (err as GatewayError).code;
  }
}

async function spendUntilDenied(g: Awaited<ReturnType<typeof setup>>, max = 100): Promise<number> {
  let n = 0;
  while (n < max && (await spendOne(g)) === "ok") n++;
  return n;
}

const fiveRequests = { groups: { eng: { models: ["openai/*"], budget: { perUser: { dailyUsd: 5 * PER_REQUEST * 1.0000001 } } } } };

describe("budget overrides", () => {
  it("a raise adds to the limit until its end, and stops applying exactly at endsAt", async () => {
    const g = await setup(fiveRequests);
    expect(await spendUntilDenied(g)).toBe(5);
    const ends = T0 + 2 * HOUR;
    const raise = await g.service.raise({ scope: "user:alice", period: "day", amountUsd: 3 * PER_REQUEST, endsAt: ends, reason: "demo day", actor: "admin@example.com" });
    expect(raise.kind).toBe("raise");
    expect(await spendUntilDenied(g)).toBe(3);
    // The denial names the override.
    await expect(g.policy.admit(request("openai", "/v1/chat/completions", chat, alice, 1000))).rejects.toThrow(/raised \+\$0\.01 until 2026-11-24T14:00:00Z/);

    // One more raise; then the clock reaches the end: 1 ms before, both apply; at endsAt, the first no longer does.
    await g.service.raise({ scope: "user:alice", period: "day", amountUsd: 10 * PER_REQUEST, endsAt: ends + HOUR, reason: "more", actor: "admin@example.com" });
    g.clock.t = ends - 1;
    expect(await spendUntilDenied(g)).toBe(10);
    g.clock.t = ends;
    // Spent 18 against 5 + 10 (the first raise has ended): denied without a refresh of the book.
    expect(await spendOne(g)).toBe("budget_exceeded");
    g.clock.t = ends + HOUR;
    expect(await spendOne(g)).toBe("budget_exceeded");
    await expect(g.policy.admit(request("openai", "/v1/chat/completions", chat, alice, 1000))).rejects.toThrow(/your daily budget of \$0\.01 has/);
  });

  it("a cap replaces the configured limit for its period (lower or higher); the newest cap wins and raises add on top", async () => {
    const g = await setup(fiveRequests);
    await g.service.cap({ scope: "user:alice", period: "day", limitUsd: 2 * PER_REQUEST * 1.0000001, endsAt: T0 + HOUR, reason: "runaway script", actor: "admin" });
    expect(await spendUntilDenied(g)).toBe(2);
    g.clock.t += 1;
    await g.service.cap({ scope: "user:alice", period: "day", limitUsd: 8 * PER_REQUEST * 1.0000001, endsAt: T0 + HOUR, reason: "fixed", actor: "admin" });
    await g.service.raise({ scope: "user:alice", period: "day", amountUsd: PER_REQUEST, endsAt: T0 + HOUR, reason: "one more", actor: "admin" });
    expect(await spendUntilDenied(g)).toBe(7);
    // At the caps' end the configured 5 applies again: 9 spent, denied.
    g.clock.t = T0 + HOUR;
    expect(await spendOne(g)).toBe("budget_exceeded");
  });

  it("an override of another person, another period or a group does not lift alice's daily budget", async () => {
    const g = await setup(fiveRequests);
    expect(await spendUntilDenied(g)).toBe(5);
    await g.service.raise({ scope: "user:bob", period: "day", amountUsd: 1, endsAt: T0 + HOUR, reason: "x", actor: "admin" });
    await g.service.raise({ scope: "user:alice", period: "month", amountUsd: 1, endsAt: T0 + HOUR, reason: "x", actor: "admin" });
    await g.service.raise({ scope: "group:eng", period: "day", amountUsd: 1, endsAt: T0 + HOUR, reason: "x", actor: "admin" });
    // Not started yet: applies from startsAt only.
    await g.service.raise({ scope: "user:alice", period: "day", amountUsd: 1, startsAt: T0 + HOUR, endsAt: T0 + 2 * HOUR, reason: "later", actor: "admin" });
    expect(await spendOne(g)).toBe("budget_exceeded");
    // A revoked override stops applying at once.
    const r = await g.service.raise({ scope: "user:alice", period: "day", amountUsd: 1, endsAt: T0 + HOUR, reason: "oops", actor: "admin" });
    expect(await spendOne(g)).toBe("ok");
    await g.service.revoke(r.id, "admin");
    expect(await spendOne(g)).toBe("budget_exceeded");
    await expect(g.service.revoke(r.id, "admin")).rejects.toBeInstanceOf(OverrideInputError);
  });

  it("refuses bad input with a message that says what to fix", async () => {
    const g = await setup(fiveRequests);
    await expect(g.service.raise({ scope: "alice", period: "day", amountUsd: 1, endsAt: T0 + HOUR, reason: "x", actor: "a" })).rejects.toThrow(/scope: must be "user:<caller id>"/);
    await expect(g.service.raise({ scope: "user:alice", period: "day", amountUsd: -1, endsAt: T0 + HOUR, reason: "x", actor: "a" })).rejects.toThrow(/amountUsd/);
    await expect(g.service.raise({ scope: "user:alice", period: "day", amountUsd: 1, endsAt: T0 - 1, reason: "x", actor: "a" })).rejects.toThrow(/not in the future/);
    await expect(g.service.raise({ scope: "user:alice", period: "day", amountUsd: 1, endsAt: T0 + 400 * 24 * HOUR, reason: "x", actor: "a" })).rejects.toThrow(/at most 92 days/);
    await expect(g.service.raise({ scope: "user:alice", period: "week" as "day", amountUsd: 1, endsAt: T0 + HOUR, reason: "x", actor: "a" })).rejects.toThrow(/period/);
    await expect(g.service.raise({ scope: "user:alice", period: "day", amountUsd: 1, endsAt: T0 + HOUR, reason: " ", actor: "a" })).rejects.toThrow(/reason/);
  });
});

describe("budget resets", () => {
  it("starts the period over from now without touching the ledger, and survives a restart (the reconciler sums from the epoch)", async () => {
    const g = await setup(fiveRequests);
    const database = g.db;
    // Five requests spent, recorded in the ledger as the gateway would.
    for (let i = 0; i < 5; i++) {
      await database
        .insertInto("ledger")
        .values(ledgerRow({ caller_id: "alice", ts: T0 - 1000 + i, day: "2026-11-24", cost_usd: PER_REQUEST }))
        .execute();
    }
    await g.reconciler.reconcile();
    expect(await spendOne(g)).toBe("budget_exceeded");

    g.clock.t = T0 + 1000;
    const reset = await g.service.reset({ scope: "user:alice", period: "day", reason: "migration bug billed twice", actor: "admin" });
    expect(reset.periodKey).toBe("2026-11-24");
    // Two requests after the reset, written to the ledger.
    for (let i = 0; i < 2; i++) {
      expect(await spendOne(g)).toBe("ok");
      await database
        .insertInto("ledger")
        .values(ledgerRow({ caller_id: "alice", ts: g.clock.t + i, day: "2026-11-24", cost_usd: PER_REQUEST }))
        .execute();
    }
    expect(await database.selectFrom("ledger").select("request_id").execute()).toHaveLength(7);

    // A restarted gateway: fresh counters, the book read from the store, the reconciler at start.
    const config = holder({ providers: { openai: {} }, policy: fiveRequests });
    const book = new BudgetOverrideBook(overridesDb(database), g.clock, silentLogger);
    await book.start(undefined);
    const restarted = createGovernance({ config, clock: g.clock, db: database, logger: silentLogger, pricer: flatPricer, overrides: book });
    await restarted.reconciler.reconcile();
    const r = { ...restarted, clock: g.clock, book, service: g.service, db: database };
    expect(await spendUntilDenied(r)).toBe(3);

    // Without the reset (a gateway that ignores it), the same ledger leaves nothing.
    const plain = createGovernance({ config, clock: g.clock, db: database, logger: silentLogger, pricer: flatPricer });
    await plain.reconciler.reconcile();
    expect(await spendUntilDenied({ ...plain, clock: g.clock, book, service: g.service, db: database })).toBe(0);

    // The next day the reset no longer matters (a new period).
    const listed = await g.service.list();
    expect(listed.resets.map((x) => x.id)).toEqual([reset.id]);
    g.clock.t = T0 + 24 * HOUR;
    expect((await g.service.list()).resets).toEqual([]);
  });

  it("a group's pool can be reset", async () => {
    const g = await setup({ groups: { eng: { models: ["openai/*"], budget: { group: { dailyUsd: 3 * PER_REQUEST * 1.0000001 } } } } });
    expect(await spendUntilDenied(g)).toBe(3);
    g.clock.t += 1;
    await g.service.reset({ scope: "group:eng", period: "day", reason: "new quarter", actor: "admin" });
    expect(await spendUntilDenied(g)).toBe(3);
  });
});

describe("the override book without timers (Workers)", () => {
  it("re-reads the store on the first request after the poll interval, so an override made elsewhere applies", async () => {
    const g = await setup(fiveRequests);
    expect(await spendUntilDenied(g)).toBe(5);
    // Written by another instance: this book is not told.
    await new BudgetOverrideService(g.db, g.clock).raise({ scope: "user:alice", period: "day", amountUsd: 2 * PER_REQUEST, endsAt: T0 + HOUR, reason: "elsewhere", actor: "admin" });
    expect(await spendOne(g)).toBe("budget_exceeded");
    g.clock.t += 2_000;
    // This request starts the re-read; the ones after it see the override.
    expect(await spendOne(g)).toBe("budget_exceeded");
    // The re-read runs in the background (a query on SQLite): wait for its effect, not for a call.
    let admitted = 0;
    for (let i = 0; i < 200 && admitted === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      admitted = await spendUntilDenied(g);
    }
    expect(admitted).toBe(2);
  });
});

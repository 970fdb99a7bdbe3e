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
import { InMemoryCounterStore } from "../../src/policy/counters.ts";
import { caller, FixedClock, flatPricer, holder, ledgerRow, request } from "../support/policy.ts";

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);
const DAY = "2026-11-24";
// 1000 bytes of body + 1000 max_tokens = 2000 tokens = $0.002 at the flat $1/M test price.
const PER_REQUEST = 0.002;
const chat = { model: "gpt-5", messages: [{ role: "user", content: "hi" }], max_tokens: 1000 };

let db: Kysely<Database> | undefined;
afterEach(async () => {
  await db?.destroy();
  db = undefined;
});

async function store(): Promise<Kysely<Database>> {
  db = openSqlite(join(mkdtempSync(join(tmpdir(), "gatehouse-policy-")), "g.db"));
  await migrateToLatest(db);
  return db;
}

function governance(database: Kysely<Database>, policy: unknown, clock = new FixedClock(T0)) {
  const config = holder({ providers: { openai: {} }, policy });
  return { clock, config, ...createGovernance({ config, clock, db: database, logger: silentLogger, pricer: flatPricer }) };
}

describe("budget reservations", () => {
  it("200 parallel requests against a budget worth 50 admit exactly 50", async () => {
    const g = governance(await store(), { groups: { eng: { models: ["openai/*"], budget: { perUser: { dailyUsd: 50 * PER_REQUEST } } } } });
    const alice = caller("alice", ["eng"]);
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => g.policy.admit(request("openai", "/v1/chat/completions", chat, alice, 1000))));
    const admitted = results.filter((r) => r.status === "fulfilled");
    const denied = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(admitted).toHaveLength(50);
    expect(denied).toHaveLength(150);
    for (const d of denied) expect((d.reason as GatewayError).code).toBe("budget_exceeded");
    expect(g.counters.used(`user:alice:d:${DAY}`)).toBeLessThanOrEqual(50 * PER_REQUEST + 1e-9);
  });

  it("settles real cost: cheaper answers free room, and the bound holds when interleaved with settles", async () => {
    const g = governance(await store(), { groups: { eng: { models: ["openai/*"], budget: { group: { dailyUsd: 50 * PER_REQUEST } } } } });
    const cost = PER_REQUEST * 0.6;
    let spent = 0;
    let admitted = 0;
    let pending: Array<{ settle: (row: ReturnType<typeof ledgerRow>) => void }> = [];
    const settle = (admission: (typeof pending)[number]) => {
      spent += cost;
      admission.settle(ledgerRow({ cost_usd: cost, input_tokens: 600, output_tokens: 600 }));
    };
    // Five waves of 40 parallel requests from 20 members; every answer costs 60% of its estimate.
    // Half of the previous wave settles before a wave starts and the other half while its
    // admissions are in flight, so the outcome does not depend on timer order under load:
    // wave 1 admits 40, and with 20 settled (12 used + 20 reserved) wave 2 still has room for 18.
    for (let wave = 0; wave < 5; wave++) {
      const before = pending.slice(0, Math.ceil(pending.length / 2));
      const during = pending.slice(before.length);
      for (const admission of before) settle(admission);
      const next: typeof pending = [];
      await Promise.all([
        ...Array.from({ length: 40 }, async (_, i) => {
          try {
            next.push(await g.policy.admit(request("openai", "/v1/chat/completions", chat, caller(`u${i % 20}`, ["eng"]), 1000)));
            admitted++;
          } catch (err) {
            if (!(err instanceof GatewayError) || err.code !== "budget_exceeded") throw err;
          }
        }),
        ...during.map(async (admission) => {
          await Promise.resolve();
          settle(admission);
        }),
      ]);
      pending = next;
    }
    for (const admission of pending) settle(admission);
    expect(admitted).toBeGreaterThan(50);
    expect(spent).toBeLessThanOrEqual(50 * PER_REQUEST + 1e-9);
    expect(g.counters.used(`group:eng:d:${DAY}`)).toBeCloseTo(spent, 9);
  });

  it("a failed request settles at $0 and gives its reservation back", async () => {
    const g = governance(await store(), { groups: { eng: { models: ["openai/*"], budget: { perUser: { dailyUsd: PER_REQUEST } } } } });
    const alice = caller("alice", ["eng"]);
    const first = await g.policy.admit(request("openai", "/v1/chat/completions", chat, alice, 1000));
    await expect(g.policy.admit(request("openai", "/v1/chat/completions", chat, alice, 1000))).rejects.toMatchObject({ code: "budget_exceeded" });
    first.settle(ledgerRow({ status: 502, outcome: "upstream_failed", cost_usd: 0 }));
    first.settle(ledgerRow({ cost_usd: 99 })); // a second settle is ignored
    await expect(g.policy.admit(request("openai", "/v1/chat/completions", chat, alice, 1000))).resolves.toBeDefined();
  });

  it("denies with retry-after to the end of the period and a message naming the budget", async () => {
    const g = governance(await store(), { groups: { eng: { models: ["openai/*"], budget: { perUser: { dailyUsd: 0.001 }, group: { monthlyUsd: 100 } } } } });
    const err = await g.policy.admit(request("openai", "/v1/chat/completions", chat, caller("alice", ["eng"]), 1000)).then(
      () => undefined,
      (e: unknown) => e as GatewayError,
    );
    expect(err?.code).toBe("budget_exceeded");
    expect(err?.status).toBe(429);
    expect(err?.message).toContain("your daily budget");
    expect(err?.retryAfterSeconds).toBe(12 * 3600);
  });

  it("the most generous per-user cap among the caller's groups applies", async () => {
    const g = governance(await store(), {
      groups: { eng: { models: ["openai/*"], budget: { perUser: { dailyUsd: PER_REQUEST } } }, leads: { budget: { perUser: { dailyUsd: 3 * PER_REQUEST } } } },
    });
    const lead = caller("lee", ["eng", "leads"]);
    for (let i = 0; i < 3; i++) await g.policy.admit(request("openai", "/v1/chat/completions", chat, lead, 1000));
    await expect(g.policy.admit(request("openai", "/v1/chat/completions", chat, lead, 1000))).rejects.toMatchObject({ code: "budget_exceeded" });
  });

  it("refuses an unpriced model under a budget by default, naming the fix", async () => {
    const counters = new InMemoryCounterStore();
    const config = holder({ providers: { openai: {} }, policy: { groups: { eng: { models: ["openai/*"], budget: { perUser: { dailyUsd: 1 } } } } } });
    const database = await store();
    const g = createGovernance({ config, clock: new FixedClock(T0), db: database, logger: silentLogger, pricer: flatPricer, counters });
    const denied = g.policy.admit(request("openai", "/v1/chat/completions", { ...chat, model: "unpriced-x" }, caller("alice", ["eng"]), 1000));
    await expect(denied).rejects.toMatchObject({ code: "forbidden", message: expect.stringContaining("policy.unpriced: allow") as unknown as string });
    // A priced model under the same budget is admitted.
    await expect(g.policy.admit(request("openai", "/v1/chat/completions", chat, caller("alice", ["eng"]), 1000))).resolves.toBeDefined();
  });

  it("with policy.unpriced: allow, an unpriced model reserves nothing but still needs a budget left", async () => {
    const counters = new InMemoryCounterStore();
    const config = holder({ providers: { openai: {} }, policy: { unpriced: "allow", groups: { eng: { models: ["openai/*"], budget: { perUser: { dailyUsd: 1 } } } } } });
    const database = await store();
    const g = createGovernance({ config, clock: new FixedClock(T0), db: database, logger: silentLogger, pricer: flatPricer, counters });
    await g.policy.admit(request("openai", "/v1/chat/completions", { ...chat, model: "unpriced-x" }, caller("alice", ["eng"]), 1000));
    expect(counters.used(`user:alice:d:${DAY}`)).toBe(0);
  });
});

describe("reconciliation with the ledger", () => {
  it("a restarted gateway starts from the ledger's spend per user and per group", async () => {
    const database = await store();
    const policy = { groups: { eng: { models: ["openai/*"], budget: { perUser: { dailyUsd: 10 * PER_REQUEST, monthlyUsd: 1 }, group: { monthlyUsd: 20 * PER_REQUEST } } } } };
    const before = governance(database, policy);
    // Bob spends through the policy, so his membership is recorded for group reconciliation.
    await before.policy.admit(request("openai", "/v1/chat/completions", chat, caller("bob", ["eng"]), 1000));
    await before.reconciler.reconcile();
    const ts = T0 - 3600_000;
    await database
      .insertInto("ledger")
      .values([
        ...Array.from({ length: 9 }, () => ledgerRow({ caller_id: "alice", ts, day: DAY, cost_usd: PER_REQUEST })),
        ...Array.from({ length: 8 }, () => ledgerRow({ caller_id: "bob", ts, day: DAY, cost_usd: PER_REQUEST })),
        ledgerRow({ caller_id: "alice", ts: Date.UTC(2026, 10, 2), day: "2026-11-02", cost_usd: 0.5 }),
        ledgerRow({ caller_id: "alice", ts: Date.UTC(2026, 9, 30), day: "2026-10-30", cost_usd: 100 }),
      ])
      .execute();
    await database.insertInto("caller_groups").values({ caller_id: "alice", group_name: "eng", updated_at: ts }).execute();

    const after = governance(database, policy);
    await after.reconciler.reconcile();
    expect(after.counters.used(`user:alice:d:${DAY}`)).toBeCloseTo(9 * PER_REQUEST, 12);
    expect(after.counters.used("user:alice:m:2026-11")).toBeCloseTo(9 * PER_REQUEST + 0.5, 12);
    expect(after.counters.used("group:eng:m:2026-11")).toBeCloseTo(17 * PER_REQUEST + 0.5, 12);
    // Alice has one request left today by her own budget, but the group's month is already over.
    await expect(after.policy.admit(request("openai", "/v1/chat/completions", chat, caller("alice", ["eng"]), 1000))).rejects.toMatchObject({
      code: "budget_exceeded",
      message: expect.stringContaining("group eng's monthly budget"),
    });
  });

  it("never lowers a counter below what this process settled but has not flushed yet", async () => {
    const g = governance(await store(), { groups: { eng: { models: ["openai/*"], budget: { perUser: { dailyUsd: 1 } } } } });
    const a = await g.policy.admit(request("openai", "/v1/chat/completions", chat, caller("alice", ["eng"]), 1000));
    a.settle(ledgerRow({ cost_usd: 0.3 }));
    await g.reconciler.reconcile();
    expect(g.counters.used(`user:alice:d:${DAY}`)).toBeCloseTo(0.3, 12);
  });

  it("a reconcile without sums records memberships and drops ended periods, but reads no ledger spend", async () => {
    const database = await store();
    const clock = new FixedClock(T0);
    const g = governance(database, { groups: { eng: { models: ["openai/*"], budget: { perUser: { dailyUsd: 1 }, group: { monthlyUsd: 5 } } } } }, clock);
    await g.policy.admit(request("openai", "/v1/chat/completions", chat, caller("alice", ["eng"]), 1000));
    // What is used now is the open reservation of that request.
    const reserved = g.counters.used(`user:alice:d:${DAY}`);
    await database
      .insertInto("ledger")
      .values(ledgerRow({ caller_id: "alice", ts: T0 - 1000, day: DAY, cost_usd: 0.4 }))
      .execute();
    await g.reconciler.reconcile({ sums: false });
    // The row written behind the process's back is not read...
    expect(g.counters.used(`user:alice:d:${DAY}`)).toBeCloseTo(reserved, 12);
    // ...but the membership seen by the policy is recorded for the next start.
    expect(await database.selectFrom("caller_groups").select("group_name").where("caller_id", "=", "alice").execute()).toEqual([{ group_name: "eng" }]);
    await g.reconciler.reconcile();
    expect(g.counters.used(`user:alice:d:${DAY}`)).toBeCloseTo(0.4 + reserved, 12);
  });

  it("drops yesterday's counters at the next reconcile after midnight", async () => {
    const clock = new FixedClock(T0);
    const g = governance(await store(), { groups: { eng: { models: ["openai/*"], budget: { perUser: { dailyUsd: 1 } } } } }, clock);
    const a = await g.policy.admit(request("openai", "/v1/chat/completions", chat, caller("alice", ["eng"]), 1000));
    a.settle(ledgerRow({ cost_usd: 0.9 }));
    clock.t += 13 * 3600_000;
    await g.reconciler.reconcile();
    expect((g.counters as InMemoryCounterStore).size).toBe(0);
    await expect(g.policy.admit(request("openai", "/v1/chat/completions", chat, caller("alice", ["eng"]), 1000))).resolves.toBeDefined();
  });
});

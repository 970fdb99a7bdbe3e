import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Kysely } from "kysely";
import { silentLogger } from "../../src/core/logger.ts";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { buildReport } from "../../src/dashboard/index.ts";
import { dashboardPage } from "../../src/dashboard/page.ts";
import { BudgetOverrideBook, BudgetOverrideService, overridesDb } from "../../src/policy/overrides/index.ts";
import { orgConfigSchema } from "../../src/config/index.ts";
import { FixedClock, ledgerRow } from "../support/policy.ts";

// 2026-11-24 12:00 UTC: the month has 24 days so far.
const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);
const DAY = 86_400_000;
const ALICE = "a11ce000-0000-4000-8000-000000000001";
const config = orgConfigSchema.parse({
  providers: { openai: {} },
  policy: { groups: { eng: { models: ["openai/*"], budget: { group: { monthlyUsd: 100 }, perUser: { monthlyUsd: 40 } } } } },
});
const range = { from: "2026-11-01", to: "2026-11-24" };

let db: Kysely<Database> | undefined;
afterEach(async () => {
  await db?.destroy();
  db = undefined;
});

/** Alice (in eng) spends $10 on each of Nov 20, 22 and 24 (the last at 10:00, before a reset at 11:00 that day) and $5 at 11:30. */
async function setup() {
  db = openSqlite(join(mkdtempSync(join(tmpdir(), "gatehouse-dash-overrides-")), "g.db"));
  await migrateToLatest(db);
  const spends: Array<[number, number]> = [
    [NOW - 4 * DAY, 10],
    [NOW - 2 * DAY, 10],
    [NOW - 2 * 3_600_000, 10],
    [NOW - 30 * 60_000, 5],
  ];
  await db
    .insertInto("ledger")
    .values(spends.map(([ts, cost], i) => ledgerRow({ request_id: `r${i}`, ts, day: new Date(ts).toISOString().slice(0, 10), caller_id: ALICE, provider: "openai", model: "gpt-5", cost_usd: cost })))
    .execute();
  await db.insertInto("caller_groups").values({ caller_id: ALICE, group_name: "eng", updated_at: NOW }).execute();
  const clock = new FixedClock(NOW - 3_600_000);
  const book = new BudgetOverrideBook(overridesDb(db), clock, silentLogger);
  await book.start(undefined);
  const service = new BudgetOverrideService(db, clock, () => book.refresh());
  const effective = (scope: string, monthKey: string, configuredUsd: number, now: number) => book.effective(scope, "month", monthKey, configuredUsd, now);
  return { db, clock, service, effective };
}

describe("dashboard budget burn-down with overrides and resets", () => {
  it("shows the configured limits and the whole month's spend when nothing overrides them", async () => {
    const { db: store, effective } = await setup();
    const report = await buildReport(store, config, range, NOW, effective);
    expect(report.burnDown).toEqual([expect.objectContaining({ group: "eng", limitUsd: 100, spentUsd: 35, note: undefined })]);
    expect(report.userBurn).toEqual([expect.objectContaining({ callerId: ALICE, limitUsd: 40, spentUsd: 35, note: undefined })]);
  });

  it("shows the limit the budget check enforces: a cap replaces it, a raise adds to it, each with its note", async () => {
    const { db: store, service, effective } = await setup();
    await service.cap({ scope: "group:eng", period: "month", limitUsd: 60, endsAt: NOW + DAY, reason: "freeze", actor: "admin@example.com" });
    await service.raise({ scope: `user:${ALICE}`, period: "month", amountUsd: 25, endsAt: NOW + DAY, reason: "demo", actor: "admin@example.com" });
    const report = await buildReport(store, config, range, NOW, effective);
    const eng = report.burnDown[0];
    expect(eng?.limitUsd).toBe(60);
    expect(eng?.note).toMatch(/^cap \$60\.00 until 2026-11-25T12:00:00Z$/);
    expect(eng?.remaining.at(-1)?.usd).toBeCloseTo(25, 9);
    expect(report.userBurn[0]).toEqual(expect.objectContaining({ limitUsd: 65, spentUsd: 35, note: expect.stringMatching(/^raised \+\$25\.00 until/) }));
    // The page shows the enforced limit with its reason under it.
    const html = dashboardPage(report);
    expect(html).toContain(`data-limit="60"`);
    expect(html).toMatch(/data-test="limit-note">cap \$60\.00 until 2026-11-25T12:00:00Z</);
    // Without the override book the page would show the configured limits the check no longer applies.
    const unaware = await buildReport(store, config, range, NOW);
    expect(unaware.burnDown[0]?.limitUsd).toBe(100);
  });

  it("after a reset counts only what was spent since the reset, as the budget check does", async () => {
    const { db: store, service, clock, effective } = await setup();
    clock.t = NOW - 3_600_000;
    await service.reset({ scope: "group:eng", period: "month", reason: "new quarter", actor: "admin@example.com" });
    await service.reset({ scope: `user:${ALICE}`, period: "month", reason: "new quarter", actor: "admin@example.com" });
    const report = await buildReport(store, config, range, NOW, effective);
    const eng = report.burnDown[0];
    // Only the $5 at 11:30 is after the 11:00 reset.
    expect(eng?.spentUsd).toBeCloseTo(5, 9);
    expect(eng?.note).toMatch(/^reset at 2026-11-24T11:00:00/);
    expect(eng?.remaining.find((d) => d.day === "2026-11-22")?.usd).toBeCloseTo(80, 9);
    expect(eng?.remaining.at(-1)?.usd).toBeCloseTo(95, 9);
    expect(report.userBurn[0]?.spentUsd).toBeCloseTo(5, 9);
  });
});

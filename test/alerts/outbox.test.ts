import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { AlertEmitter, AlertSender, alertsDb, claimDue, enqueue, newEventId, outboxCounts, type AlertEvent } from "../../src/alerts/index.ts";
import type { Logger } from "../../src/core/logger.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { alertsSchema, type AlertsConfig } from "../../src/config/policy-schema.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { FixedClock } from "../support/policy.ts";
import { acceptedOfType, startReceiver, type Receiver } from "./receiver.ts";

const SECRET = "whsec_unit_secret";
// Now: the receiver checks the signature's timestamp against its own clock (the replay window).
const T0 = Date.now();
const nodeTimers = {
  after(ms: number, fn: () => void) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

let db: Kysely<Database>;
let receiver: Receiver;
beforeEach(async () => {
  db = openSqlite(join(mkdtempSync(join(tmpdir(), "gatehouse-outbox-")), "g.db"));
  await migrateToLatest(db);
  receiver = await startReceiver({ secret: SECRET });
});
afterEach(async () => {
  await db.destroy();
  await receiver.close();
});

function config(over: Record<string, unknown> = {}): AlertsConfig {
  return alertsSchema.parse({ webhooks: [{ name: "siem", format: "signed", url: `${receiver.url}/signed`, secretEnv: "S" }], delivery: { baseDelayMs: 10, maxDelayMs: 20, maxAttempts: 3, timeoutMs: 5_000 }, ...over });
}

function sender(owner: string, clock: FixedClock, alerts: AlertsConfig, logger: Logger = silentLogger): AlertSender {
  return new AlertSender({ db: alertsDb(db), alerts: () => alerts, secrets: { get: (n) => (n === "S" ? SECRET : undefined) }, clock, logger, timers: nodeTimers, owner, random: () => 0 });
}

function event(i: number): AlertEvent {
  return { id: newEventId(), type: "request.denied", createdAt: T0, summary: `denial ${i}`, data: { n: i } };
}

/** Rounds of every sender until nothing is pending or sending. */
async function drain(senders: AlertSender[], clock: FixedClock): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const counts = await outboxCounts(alertsDb(db));
    if (counts.pending === 0 && counts.sending === 0) return;
    await Promise.all(senders.map((s) => s.runOnce()));
    // Deliveries run beside the round: let them settle, then move past any backoff.
    await new Promise((r) => setTimeout(r, 20));
    clock.t += 1_000;
  }
  throw new Error("outbox did not drain");
}

describe("the alert outbox", { timeout: 60_000 }, () => {
  it("two senders on one store deliver each of 60 events exactly once", async () => {
    const clock = new FixedClock(T0);
    const alerts = config();
    await enqueue(
      alertsDb(db),
      Array.from({ length: 60 }, (_, i) => ({ event: event(i), target: "siem", dedupeKey: `k${i}` })),
      T0,
    );
    const a = sender("instance-a", clock, alerts);
    const b = sender("instance-b", clock, alerts);
    await drain([a, b], clock);
    expect(receiver.deliveries).toHaveLength(60);
    expect(new Set(receiver.deliveries.map((d) => d.headers["idempotency-key"])).size).toBe(60);
    expect(receiver.deliveries.every((d) => d.signature === "valid")).toBe(true);
    expect(await outboxCounts(alertsDb(db))).toMatchObject({ delivered: 60, pending: 0, failed: 0 });
  });

  it("the same dedupe key is stored once, from any number of emitters (instances) at once", async () => {
    const clock = new FixedClock(T0);
    const alerts = config();
    const emitters = Array.from({ length: 4 }, () => new AlertEmitter({ db: alertsDb(db), alerts: () => alerts, clock, logger: silentLogger, timers: nodeTimers }));
    const caller = { id: "c1", email: undefined, groups: ["eng"], team: "eng", tokenId: undefined };
    for (let i = 0; i < 25; i++) for (const e of emitters) e.denied({ reason: "rate_limited", status: 429, message: "slow down", caller, provider: "openai", model: "gpt-4o" }, clock.now());
    await Promise.all(emitters.map((e) => e.flush()));
    const rows = await alertsDb(db).selectFrom("alert_outbox").selectAll().execute();
    expect(rows).toHaveLength(1);
    // The next window is a new alert.
    clock.t += alerts.denialWindowSeconds * 1000;
    emitters[0]?.denied({ reason: "rate_limited", status: 429, message: "slow down", caller, provider: "openai", model: "gpt-4o" }, clock.now());
    await emitters[0]?.flush();
    expect(await alertsDb(db).selectFrom("alert_outbox").select("id").execute()).toHaveLength(2);
  });

  it("gives up after maxAttempts with the last error recorded, and does not retry a 4xx refusal", async () => {
    const clock = new FixedClock(T0);
    const errors: string[] = [];
    const logger: Logger = { ...silentLogger, error: (f, m) => void errors.push(`${m} ${JSON.stringify(f)}`) };
    receiver.set({ failFirst: 1_000 });
    await enqueue(alertsDb(db), [{ event: event(1), target: "siem", dedupeKey: "fail" }], T0);
    await drain([sender("a", clock, config(), logger)], clock);
    const [row] = await alertsDb(db).selectFrom("alert_outbox").selectAll().execute();
    expect(row).toMatchObject({ status: "failed", last_status: 500, last_error: "gave up after 3 attempts: HTTP 500" });
    expect(Number(row?.attempts)).toBe(3);
    expect(receiver.deliveries).toHaveLength(3);
    expect(errors.filter((e) => e.startsWith("alert given up"))).toHaveLength(1);

    // A wrong secret: the receiver answers 401, which is not retried.
    await enqueue(alertsDb(db), [{ event: event(2), target: "siem", dedupeKey: "401" }], clock.now());
    const wrong = new AlertSender({ db: alertsDb(db), alerts: () => config(), secrets: { get: () => "not-the-secret" }, clock, logger: silentLogger, timers: nodeTimers, owner: "w", random: () => 0 });
    await drain([wrong], clock);
    const refused = await alertsDb(db).selectFrom("alert_outbox").selectAll().where("dedupe_key", "=", "siem|401").executeTakeFirstOrThrow();
    expect(refused).toMatchObject({ status: "failed", last_status: 401 });
    expect(Number(refused.attempts)).toBe(1);
  });

  it("a sender that died mid-attempt leaves a lease; another sender takes the row over when it expires and delivers it once", async () => {
    const clock = new FixedClock(T0);
    const alerts = config();
    await enqueue(alertsDb(db), [{ event: event(1), target: "siem", dedupeKey: "dead" }], T0);
    // The dead instance claimed it and never settled.
    expect(await claimDue(alertsDb(db), "dead-instance", T0, alerts.delivery.timeoutMs + 30_000, 10)).toHaveLength(1);
    const live = sender("live", clock, alerts);
    await live.runOnce();
    await new Promise((r) => setTimeout(r, 50));
    expect(receiver.deliveries).toHaveLength(0);
    clock.t = T0 + alerts.delivery.timeoutMs + 30_001;
    await drain([live], clock);
    expect(receiver.deliveries).toHaveLength(1);
    expect(acceptedOfType(receiver, "/signed", "request.denied")).toHaveLength(1);
    const [row] = await alertsDb(db).selectFrom("alert_outbox").selectAll().execute();
    expect(row?.status).toBe("delivered");
    expect(Number(row?.attempts)).toBe(2);
  });

  it("a webhook removed from the config is dropped (recorded), not retried", async () => {
    const clock = new FixedClock(T0);
    await enqueue(alertsDb(db), [{ event: event(1), target: "gone", dedupeKey: "gone" }], T0);
    await drain([sender("a", clock, config())], clock);
    const [row] = await alertsDb(db).selectFrom("alert_outbox").selectAll().execute();
    expect(row).toMatchObject({ status: "dropped", last_error: 'webhook "gone" is no longer under policy.alerts.webhooks' });
  });
});

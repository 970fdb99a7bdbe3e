import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Authenticator, HeaderReader } from "../../src/core/auth.ts";
import { extractClientToken } from "../../src/core/auth.ts";
import { GatewayError } from "../../src/core/errors.ts";
import type { Logger } from "../../src/core/logger.ts";
import { orgConfigSchema } from "../../src/config/index.ts";
import { alertsDb } from "../../src/alerts/index.ts";
import { startHarness, type Harness } from "../gateway/harness.ts";
import { acceptedOfType, startReceiver, type Receiver } from "./receiver.ts";

/** Tokens "tok:<caller id>:<group>" become that caller: one gateway serves many people. */
const authenticator: Authenticator = {
  async authenticate(headers: HeaderReader) {
    const [tag, id, group] = (extractClientToken(headers) ?? "").split(":");
    if (tag !== "tok" || !id || !group) throw new GatewayError("unauthenticated", "Invalid gateway token.");
    return { id, email: undefined, groups: [group], team: group, tokenId: undefined };
  },
};

const SECRET = "whsec_test_signing_secret_0123456789";
/** The Slack URL's path is its secret: it must never reach a log line. */
const SLACK_PATH = "/slack/T0000/B0000/XXXXslackpathsecret";
const lines: string[] = [];
const capture: Logger = {
  debug: (f, m) => void lines.push(JSON.stringify({ ...f, m })),
  info: (f, m) => void lines.push(JSON.stringify({ ...f, m })),
  warn: (f, m) => void lines.push(JSON.stringify({ ...f, m })),
  error: (f, m) => void lines.push(JSON.stringify({ ...f, m })),
};

let h: Harness;
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver({ secret: SECRET });
  h = await startHarness({ authenticator, logger: capture }, { ALERT_SECRET: SECRET, SLACK_URL: `${receiver.url}${SLACK_PATH}` });
});
afterAll(async () => {
  await h?.close();
  await receiver?.close();
});
beforeEach(() => h.fake.reset());
afterEach(() => receiver.set({ failFirst: 0, hang: false }));

const body = { model: "budget-model", messages: [{ role: "user", content: "x".repeat(900) }], max_tokens: 1000 };
const bytes = new TextEncoder().encode(JSON.stringify(body)).byteLength;
const perRequest = (bytes + 1000) / 1e6;

function setPolicy(policy: Record<string, unknown>, alerts: Record<string, unknown> = {}, url = receiver.url) {
  const current = h.gateway.deps.config.current();
  h.gateway.deps.config.replace(
    orgConfigSchema.parse({
      providers: current.providers,
      pricing: { ...current.pricing, "openai/budget-model": { input: 1, output: 1 }, "openai/flaky": { input: 1, output: 1 } },
      policy: {
        ...policy,
        alerts: {
          webhooks: [
            { name: "ops-slack", format: "slack", urlEnv: "SLACK_URL" },
            { name: "siem", format: "signed", url: `${url}/signed`, secretEnv: "ALERT_SECRET" },
          ],
          delivery: { baseDelayMs: 20, maxDelayMs: 200, timeoutMs: 60_000 },
          ...alerts,
        },
      },
    }),
  );
}

const post = (token: string, payload: unknown = body) => fetch(`${h.gateway.url}/openai/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(payload) });

async function outbox() {
  return alertsDb(h.gateway.deps.db).selectFrom("alert_outbox").selectAll().execute();
}

/** Waits until every outbox row is delivered or given up (the sender is done). */
async function drained(): Promise<void> {
  await expect.poll(async () => (await outbox()).every((r) => r.status === "delivered" || r.status === "failed"), { timeout: 30_000, interval: 50 }).toBe(true);
}

const paths = ["/signed", SLACK_PATH];

describe("alerts from a real gateway to a local webhook receiver", { timeout: 60_000 }, () => {
  it("the threshold, the denial storm, the provider going down and recovering: each exactly once per webhook, signatures verified", async () => {
    setPolicy({
      groups: {
        eng: { models: ["openai/*"], budget: { perUser: { dailyUsd: 10 * perRequest * 1.0000001, warnAt: 0.5 } } },
        ops: { models: ["openai/*"] },
      },
      circuitBreaker: { failureThreshold: 2, openSeconds: 60 },
    });
    h.fake.setDefault({ usage: { input: bytes, output: 1000 } });
    const alice = "tok:a11ce:eng";
    // Ten requests spend the budget; the 5th crosses 50 %, the 6th to 10th are past it too.
    for (let i = 0; i < 10; i++) expect((await post(alice)).status).toBe(200);
    // A storm of 30 refusals: one alert.
    const storm = await Promise.all(Array.from({ length: 30 }, () => post(alice)));
    expect(storm.every((r) => r.status === 429)).toBe(true);
    await Promise.all(storm.map((r) => r.arrayBuffer()));
    // The provider fails twice in a row (circuit opens), then answers (circuit closes).
    h.fake.enqueue({ status: 500 });
    h.fake.enqueue({ status: 500 });
    const ops = "tok:0b5:ops";
    const flaky = { model: "flaky", messages: [{ role: "user", content: "hi" }], max_tokens: 10 };
    expect((await post(ops, flaky)).status).toBe(500);
    expect((await post(ops, flaky)).status).toBe(500);
    expect((await post(ops, flaky)).status).toBe(200);

    await expect.poll(() => receiver.deliveries.length, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(8);
    await drained();
    for (const path of paths) {
      for (const type of ["budget.threshold", "request.denied", "provider.down", "provider.recovered"]) expect(acceptedOfType(receiver, path, type), `${type} at ${path}`).toHaveLength(1);
    }
    // No repeat reached the receiver at all (every first attempt succeeded), and every signed one verified.
    expect(receiver.deliveries).toHaveLength(8);
    expect(receiver.deliveries.filter((d) => d.path === "/signed").every((d) => d.signature === "valid")).toBe(true);
    expect(new Set(receiver.deliveries.map((d) => d.headers["idempotency-key"])).size).toBe(4);

    const signed = [...(receiver.accepted.get("/signed")?.values() ?? [])] as Array<{ type: string; id: string; data: Record<string, unknown>; summary: string }>;
    const threshold = signed.find((e) => e.type === "budget.threshold");
    expect(threshold?.data).toMatchObject({ caller_id: "a11ce", warn_at: 0.5, period: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), groups: ["eng"] });
    expect(Number(threshold?.data["used_usd"])).toBeGreaterThanOrEqual(5 * perRequest - 1e-9);
    expect(Number(threshold?.data["used_usd"])).toBeLessThan(6 * perRequest);
    expect(signed.find((e) => e.type === "request.denied")?.data).toMatchObject({ reason: "budget_exceeded", status: 429, caller_id: "a11ce", model: "budget-model" });
    expect(signed.find((e) => e.type === "provider.down")?.data).toMatchObject({ provider: "openai", model: "flaky", failures: 2 });
    const slack = [...(receiver.accepted.get(SLACK_PATH)?.values() ?? [])] as Array<{ text: string; blocks: Array<{ type: string }> }>;
    for (const message of slack) {
      expect(message.text).toMatch(/^(Budget soft limit reached|Request denied|Provider failing|Provider recovered): /);
      expect(message.blocks.map((b) => b.type)).toContain("header");
    }
    // Never the signing secret, the Slack URL's secret path or a signature in a log line.
    const log = lines.join("\n");
    expect(log).not.toContain(SECRET);
    expect(log).not.toContain("XXXXslackpathsecret");
    expect(log).not.toMatch(/v1=[0-9a-f]{64}/);
    expect(log).toContain("alert delivered");
    const metrics = await (await fetch(`${h.gateway.url}/metrics`, { headers: { authorization: "Bearer tok:ad:admin" } })).text();
    expect(Number(/^gatehouse_alerts_delivered_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(8);
  });

  it("a receiver that fails twice and then succeeds still gets each event exactly once (same idempotency key on every attempt)", async () => {
    setPolicy({ groups: { eng: { models: ["openai/gpt-4o-mini"] } } });
    receiver.set({ failFirst: 2 });
    const before = receiver.deliveries.length;
    expect((await post("tok:da5e:eng", { ...body, model: "gpt-4o" })).status).toBe(403);
    await expect.poll(() => receiver.deliveries.length - before, { timeout: 30_000, interval: 50 }).toBe(6);
    await drained();
    const mine = receiver.deliveries.slice(before);
    for (const path of paths) {
      const attempts = mine.filter((d) => d.path === path);
      expect(attempts.map((d) => d.answered)).toEqual([500, 500, 200]);
      expect(attempts.map((d) => d.headers["x-gatehouse-delivery-attempt"])).toEqual(["1", "2", "3"]);
      expect(new Set(attempts.map((d) => d.headers["idempotency-key"])).size).toBe(1);
    }
    const rows = (await outbox()).filter((r) => r.payload.includes('"caller_id":"da5e"'));
    expect(rows.map((r) => [r.status, Number(r.attempts)])).toEqual([
      ["delivered", 3],
      ["delivered", 3],
    ]);
    const accepted = acceptedOfType(receiver, "/signed", "request.denied").filter((e) => JSON.stringify(e).includes("da5e"));
    expect(accepted).toHaveLength(1);
  });

  it("a rate-limit storm from one caller is one alert per window; another caller gets their own", async () => {
    setPolicy({ groups: { eng: { models: ["openai/*"], rateLimit: { perUser: { requestsPerMinute: 2 } } } } });
    const storm = await Promise.all(Array.from({ length: 40 }, (_, i) => post(i < 30 ? "tok:ra7e:eng" : "tok:07he:eng", { ...body, model: "gpt-4o-mini" })));
    await Promise.all(storm.map((r) => r.arrayBuffer()));
    expect(storm.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(30);
    await expect.poll(async () => (await outbox()).filter((r) => r.kind === "request.denied" && /"caller_id":"(ra7e|07he)"/.test(r.payload)).length, { timeout: 10_000, interval: 50 }).toBe(4);
    await drained();
    const rows = (await outbox()).filter((r) => r.kind === "request.denied" && /"caller_id":"(ra7e|07he)"/.test(r.payload));
    expect(rows.map((r) => `${r.target}:${(JSON.parse(r.payload) as { data: { caller_id: string; reason: string } }).data.caller_id}`).sort()).toEqual(["ops-slack:07he", "ops-slack:ra7e", "siem:07he", "siem:ra7e"]);
    for (const r of rows) expect((JSON.parse(r.payload) as { data: { reason: string } }).data.reason).toBe("rate_limited");
  });

  it("a threshold crossed by 100 concurrent requests alerts once", async () => {
    setPolicy({ groups: { eng: { models: ["openai/*"], budget: { perUser: { dailyUsd: 200 * perRequest, warnAt: 0.1 } } } } });
    h.fake.setDefault({ usage: { input: bytes, output: 1000 }, headersDelayMs: 5 });
    const responses = await Promise.all(Array.from({ length: 100 }, () => post("tok:c0cc:eng")));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    await h.gateway.ledger.flush();
    await drained();
    const rows = (await outbox()).filter((r) => r.kind === "budget.threshold" && r.payload.includes('"caller_id":"c0cc"'));
    expect(rows.map((r) => r.target).sort()).toEqual(["ops-slack", "siem"]);
    expect(acceptedOfType(receiver, "/signed", "budget.threshold").filter((e) => JSON.stringify(e).includes("c0cc"))).toHaveLength(1);
  });

  it("a receiver that hangs does not slow requests: every request is answered while the deliveries are still held", async () => {
    setPolicy({ groups: { eng: { models: ["openai/gpt-4o-mini"] } } });
    receiver.set({ hang: true });
    const durations: number[] = [];
    // 20 callers, each refused once: 20 alerts, each delivery held by the receiver.
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const res = await post(`tok:5l0w${i}:eng`, { ...body, model: "gpt-4o" });
      expect(res.status).toBe(403);
      await res.arrayBuffer();
      durations.push(performance.now() - started);
    }
    await expect.poll(() => receiver.held(), { timeout: 30_000, interval: 50 }).toBeGreaterThan(0);
    // More refusals while deliveries hang: answered all the same.
    const more = await Promise.all(Array.from({ length: 10 }, (_, i) => post(`tok:5l0x${i}:eng`, { ...body, model: "gpt-4o" })));
    expect(more.every((r) => r.status === 403)).toBe(true);
    // Four attempts per webhook at most are in flight: both webhooks are held (neither blocks the other).
    await expect.poll(() => receiver.held(), { timeout: 30_000, interval: 50 }).toBe(8);
    expect(receiver.deliveries.filter((d) => d.headers["x-gatehouse-event"] === "request.denied" && /5l0[wx]/.test(d.body) && d.answered !== 0)).toEqual([]);
    durations.sort((a, b) => a - b);
    console.log(`denied requests while the webhook receiver hangs: p50 ${durations[10]?.toFixed(1)} ms, max ${durations[19]?.toFixed(1)} ms; deliveries held open: ${receiver.held()}`);
  });
});

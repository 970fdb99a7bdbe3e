import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type RunningGateway } from "../../src/adapters/node/server.ts";
import { alertsDb } from "../../src/alerts/index.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { startFakeUpstream } from "../fake-upstream/index.ts";
import type { FakeUpstream } from "../fake-upstream/types.ts";
import { CLIENT_TOKEN, KEYS } from "../gateway/harness.ts";
import { acceptedOfType, startReceiver, type Receiver } from "./receiver.ts";

const SECRET = "whsec_restart_secret";
let fake: FakeUpstream;
let receiver: Receiver;
let dir: string;

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: KEYS });
  receiver = await startReceiver({ secret: SECRET, hang: true });
  dir = mkdtempSync(join(tmpdir(), "gatehouse-alert-restart-"));
  writeFileSync(
    join(dir, "gatehouse.yaml"),
    [
      "providers:",
      "  openai:",
      `    upstream: ${fake.url}/v1`,
      "policy:",
      "  groups:",
      "    dev:",
      '      models: ["openai/gpt-4o-mini"]',
      "  alerts:",
      "    webhooks:",
      `      - { name: siem, format: signed, url: "${receiver.url}/signed", secretEnv: ALERT_SECRET, events: [request.denied] }`,
      "    delivery: { baseDelayMs: 20, maxDelayMs: 100, timeoutMs: 60000 }",
      "",
    ].join("\n"),
  );
});
afterAll(async () => {
  await receiver?.close();
  await fake?.close();
});

async function start(): Promise<RunningGateway> {
  const env = { OPENAI_API_KEY: KEYS.openai, GATEHOUSE_DEV_TOKEN: CLIENT_TOKEN, ALERT_SECRET: SECRET };
  const settings = parseSettings(env, { configDir: dir, dataDir: join(dir, "data"), port: 0 });
  return startGateway({ settings, env, logger: silentLogger, offline: true, watchConfig: false });
}

describe("the outbox survives a restart", { timeout: 60_000 }, () => {
  it("an event whose delivery was in flight when the gateway stopped is delivered by the next start, once", async () => {
    const first = await start();
    const res = await fetch(`${first.url}/openai/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${CLIENT_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o", messages: [] }) });
    expect(res.status).toBe(403);
    // The receiver holds the attempt: the gateway stops between the event and its delivery.
    await expect.poll(() => receiver.held(), { timeout: 30_000, interval: 20 }).toBe(1);
    await first.close();

    receiver.set({ hang: false });
    const second = await start();
    try {
      await expect.poll(() => acceptedOfType(receiver, "/signed", "request.denied").length, { timeout: 30_000, interval: 20 }).toBe(1);
      const rows = await alertsDb(second.deps.db).selectFrom("alert_outbox").selectAll().execute();
      expect(rows.map((r) => [r.status, Number(r.attempts)])).toEqual([["delivered", 2]]);
      // Both attempts carried the one idempotency key; the aborted one was never answered.
      expect(receiver.deliveries.map((d) => d.answered)).toEqual([0, 200]);
      expect(new Set(receiver.deliveries.map((d) => d.headers["idempotency-key"])).size).toBe(1);
      expect(receiver.deliveries.every((d) => d.signature === "valid")).toBe(true);
    } finally {
      await second.close();
    }
  });
});

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPinoLogger } from "../../src/adapters/node/logger.ts";
import { startGateway } from "../../src/adapters/node/server.ts";
import type { Clock } from "../../src/core/clock.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { startKeyedOpenAi, type KeyedOpenAi } from "../fake-upstream/keyed-openai.ts";
import { CLIENT_TOKEN, rowWhenWritten, type Harness } from "./harness.ts";

/**
 * A key pool on the real gateway (real SQLite, node:http) in front of an OpenAI fake that knows
 * two keys and answers each on its own: a 429 on one key moves the same request to the other
 * before any byte reached the client; the ledger names the key; the cooled key comes back after
 * its retry-after (on the gateway's clock, moved forward by the test); every key cooling is a
 * clear 429 with retry-after in OpenAI's shape, never a forward without a key.
 */
const KEY_VALUES = { primary: "sk-pool-primary-value-aaaa1111", secondary: "sk-pool-secondary-value-bbbb2222" };
const RETRY_AFTER_S = 20;

/** The system clock plus an offset the test moves forward: cooldowns pass without waiting. */
function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => Date.now() + offset, monotonic: () => performance.now() + offset, advance: (ms) => void (offset += ms) };
}

let fake: KeyedOpenAi;
let h: Harness;
const clock = movableClock();
const logChunks: string[] = [];

beforeAll(async () => {
  fake = await startKeyedOpenAi(KEY_VALUES, { retryAfterSeconds: RETRY_AFTER_S, usage: { prompt: 100, completion: 10 } });
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-keypool-"));
  writeFileSync(
    join(dir, "gatehouse.yaml"),
    ["providers:", "  openai:", `    upstream: ${fake.url}/v1`, "    keys:", "      - { name: primary, env: OPENAI_KEY_PRIMARY, weight: 3 }", "      - { name: secondary, env: OPENAI_KEY_SECONDARY, weight: 1 }", ""].join("\n"),
  );
  const env = { OPENAI_KEY_PRIMARY: KEY_VALUES.primary, OPENAI_KEY_SECONDARY: KEY_VALUES.secondary, GATEHOUSE_DEV_TOKEN: CLIENT_TOKEN };
  const settings = parseSettings(env, { configDir: dir, dataDir: join(dir, "data"), port: 0 });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logChunks.push(chunk.toString("utf8"));
      done();
    },
  });
  const gateway = await startGateway({ settings, env, logger: createPinoLogger("trace", sink), offline: true, clock });
  h = { gateway, fake: undefined as never, dir, close: async () => void (await gateway.close()) };
});
afterAll(async () => {
  await h.close();
  await fake.close();
});
beforeEach(() => {
  fake.seen.length = 0;
  fake.behave("primary", "ok");
  fake.behave("secondary", "ok");
});

/** GET /metrics as the dev token (an admin) scrapes it. */
async function scrape(): Promise<string> {
  const res = await fetch(`${h.gateway.url}/metrics`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
}

async function chat(): Promise<Response> {
  return fetch(`${h.gateway.url}/openai/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}` },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
  });
}

describe("provider key pools", () => {
  it("a 429 on one key moves the same request to the other key: every request succeeds, the ledger names the key and counts the attempts; the cooled key is retried after its retry-after", async () => {
    fake.behave("primary", "rate-limited");
    const rows = [];
    for (let i = 0; i < 6; i++) {
      const res = await chat();
      if (res.status !== 200) throw new Error(await res.text());
      const body = (await res.json()) as { usage: { prompt_tokens: number } };
      expect(body.usage.prompt_tokens).toBe(100);
      rows.push(await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? ""));
    }
    for (const row of rows) expect(row).toMatchObject({ status: 200, outcome: "completed", key_name: "secondary", input_tokens: 100, output_tokens: 10 });
    // The primary key answered 429 once, then cooled down: no request went to it again during its retry-after.
    expect(fake.seen.filter((k) => k === "primary")).toHaveLength(1);
    expect(rows[0]?.attempts).toBe(fake.seen[0] === "primary" ? 2 : 1);
    expect(rows.map((r) => r.attempts).reduce((a, b) => a + b, 0)).toBe(fake.seen.length);

    // Past its cooldown the primary key is tried again (weight 3 of 4: within a few requests), and now it answers.
    fake.behave("primary", "ok");
    clock.advance((RETRY_AFTER_S + 1) * 1000);
    fake.seen.length = 0;
    const servedBy = new Set<string>();
    for (let i = 0; i < 20 && !servedBy.has("primary"); i++) {
      const res = await chat();
      expect(res.status).toBe(200);
      servedBy.add((await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "")).key_name ?? "none");
    }
    expect(servedBy.has("primary")).toBe(true);

    const metrics = await scrape();
    expect(metrics).toMatch(/gatehouse_provider_key_attempts_total\{provider="openai",key="primary",status="4xx"\} 1/);
    expect(metrics).toMatch(/gatehouse_provider_key_attempts_total\{provider="openai",key="secondary",status="2xx"\} \d+/);
  });

  it("every key cooling down is a clear 429 in OpenAI's shape with retry-after, and nothing is forwarded without a key", async () => {
    clock.advance(3_600_000);
    fake.behave("primary", "rate-limited");
    fake.behave("secondary", "rate-limited");
    const first = await chat();
    // Both keys were tried for this request; the last key's 429 is the provider's own answer.
    expect(first.status).toBe(429);
    expect(fake.seen).toHaveLength(2);
    expect(new Set(fake.seen)).toEqual(new Set(["primary", "secondary"]));
    fake.seen.length = 0;

    const refused = await chat();
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(RETRY_AFTER_S);
    const body = (await refused.json()) as { error: { message: string; type: string; code: string } };
    expect(body.error.message).toMatch(/Every key of provider openai is cooling down/);
    expect(body.error.type).toBeDefined();
    // Not forwarded at all: no request without a key (or with a cooling one) reached the provider.
    expect(fake.seen).toHaveLength(0);
    const row = await rowWhenWritten(h, refused.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ status: 429, outcome: "not_forwarded", error_code: "rate_limited" });
  });

  it("a key value never appears in logs, error bodies or /metrics (only names do)", async () => {
    clock.advance(3_600_000);
    fake.behave("primary", "rate-limited");
    fake.behave("secondary", "overloaded");
    const res = await chat();
    const text = await res.text();
    const metrics = await scrape();
    const logs = logChunks.join("");
    for (const value of Object.values(KEY_VALUES)) {
      for (const part of [value, value.slice(-8)]) {
        expect(text).not.toContain(part);
        expect(metrics).not.toContain(part);
        expect(logs).not.toContain(part);
      }
    }
    expect(metrics).toContain('key="primary"');
  });
});

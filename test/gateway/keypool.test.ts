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
const KEY_VALUES = { primary: "sk-pool-primary-value-aaaa1111", secondary: "sk-pool-secondary-value-bbbb2222", solo: "gsk-pool-solo-value-cccc3333" };
const RETRY_AFTER_S = 20;
/** The gateway's wait for an upstream's headers here: a silent key is given up on after it. */
const HEADER_TIMEOUT_MS = 5_000;
const DEFAULT_COOLDOWN_MS = 30_000;

/**
 * The system clock plus an offset the test moves forward: cooldowns pass without waiting.
 * Frozen, it stands still (the offset still moves it), so a cooldown can be checked to the millisecond.
 */
function movableClock(): Clock & { advance(ms: number): void; freeze(at: number): void; thaw(): void } {
  let offset = 0;
  let frozenAt: number | undefined;
  return {
    now: () => (frozenAt ?? Date.now()) + offset,
    monotonic: () => performance.now() + offset,
    advance: (ms) => void (offset += ms),
    freeze: (at) => {
      frozenAt = at;
      offset = 0;
    },
    thaw: () => {
      offset = (frozenAt ?? Date.now()) + offset - Date.now();
      frozenAt = undefined;
    },
  };
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
    [
      "providers:",
      "  openai:",
      `    upstream: ${fake.url}/v1`,
      "    keys:",
      "      - { name: primary, env: OPENAI_KEY_PRIMARY, weight: 3 }",
      "      - { name: secondary, env: OPENAI_KEY_SECONDARY, weight: 1 }",
      // A pool of one key (Groq speaks the same Chat Completions wire): its 429 always reaches the client.
      "  groq:",
      `    upstream: ${fake.url}/v1`,
      "    keys:",
      "      - { name: solo, env: GROQ_KEY_SOLO }",
      "",
    ].join("\n"),
  );
  const env = { OPENAI_KEY_PRIMARY: KEY_VALUES.primary, OPENAI_KEY_SECONDARY: KEY_VALUES.secondary, GROQ_KEY_SOLO: KEY_VALUES.solo, GATEHOUSE_DEV_TOKEN: CLIENT_TOKEN, GATEHOUSE_UPSTREAM_TIMEOUT_MS: String(HEADER_TIMEOUT_MS) };
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
  fake.behave("solo", "ok");
});

/** GET /metrics as the dev token (an admin) scrapes it. */
async function scrape(): Promise<string> {
  const res = await fetch(`${h.gateway.url}/metrics`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
}

async function chat(route: "openai" | "groq" = "openai"): Promise<Response> {
  return fetch(`${h.gateway.url}/${route}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}` },
    body: JSON.stringify({ model: route === "openai" ? "gpt-4o-mini" : "llama-3.3-70b-versatile", messages: [{ role: "user", content: "hi" }] }),
  });
}

/**
 * Primary gives no answer (`refused` or `silent`), secondary answers: requests are sent until
 * one picked primary first (weight 3 of 4), then three more. Every one succeeds on secondary
 * (nothing reached the client from primary), and primary, cooled by its failure, was tried once.
 */
async function failoverFromUnanswered(behaviour: "refused" | "silent"): Promise<void> {
  clock.advance(3_600_000);
  fake.behave("primary", behaviour);
  const rows = [];
  for (let i = 0; i < 12 && (!fake.seen.includes("primary") || rows.length < 4); i++) {
    const res = await chat();
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect((JSON.parse(text) as { usage: { prompt_tokens: number } }).usage.prompt_tokens).toBe(100);
    rows.push(await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? ""));
  }
  expect(fake.seen.filter((k) => k === "primary")).toHaveLength(1);
  for (const row of rows) expect(row).toMatchObject({ status: 200, outcome: "completed", key_name: "secondary", input_tokens: 100, output_tokens: 10 });
  expect(rows.map((r) => r.attempts).reduce((a, b) => a + b, 0)).toBe(fake.seen.length);
  // Its cooldown (the default: no answer carries no retry-after) over, primary serves again.
  fake.behave("primary", "ok");
  clock.advance(DEFAULT_COOLDOWN_MS);
  const servedBy = new Set<string>();
  for (let i = 0; i < 20 && !servedBy.has("primary"); i++) {
    const res = await chat();
    expect(res.status).toBe(200);
    servedBy.add((await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "")).key_name ?? "none");
  }
  expect(servedBy.has("primary")).toBe(true);
  // The attempt that got no answer is counted by key name with status class "none".
  expect(await scrape()).toMatch(/gatehouse_provider_key_attempts_total\{provider="openai",key="primary",status="none"\} [1-9]/);
}

/**
 * The solo key's 429 reaches the client (no other key to move to) with `retryAfter`; the key is
 * then skipped for exactly `cooldownMs` on the gateway's (frozen) clock: refused before it,
 * forwarded at it.
 */
async function cooledExactly(at: number, retryAfter: string, cooldownMs: number): Promise<void> {
  clock.freeze(at);
  try {
    fake.behave("solo", "rate-limited", retryAfter);
    const relayed = await chat("groq");
    expect(relayed.status).toBe(429);
    expect(relayed.headers.get("retry-after")).toBe(retryAfter);
    expect(((await relayed.json()) as { error: { code: string } }).error.code).toBe("rate_limit_exceeded");
    expect(fake.seen).toEqual(["solo"]);
    fake.behave("solo", "ok");

    clock.advance(cooldownMs - 1);
    const refused = await chat("groq");
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/Every key of provider groq is cooling down/);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(fake.seen).toEqual(["solo"]);

    clock.advance(1);
    const served = await chat("groq");
    expect(served.status, await served.clone().text()).toBe(200);
    expect(fake.seen).toEqual(["solo", "solo"]);
    expect(await rowWhenWritten(h, served.headers.get("x-gatehouse-request-id") ?? "")).toMatchObject({ status: 200, key_name: "solo" });
  } finally {
    clock.thaw();
  }
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

  it("every key given no answer at all: the provider is unreachable (502 with retry-after), not rate limiting; nothing forwarded without a key", async () => {
    clock.advance(3_600_000);
    fake.behave("primary", "refused");
    fake.behave("secondary", "refused");
    const first = await chat();
    // Both keys were tried for this request; neither got an answer.
    expect(first.status).toBe(502);
    expect(new Set(fake.seen)).toEqual(new Set(["primary", "secondary"]));
    fake.seen.length = 0;

    const refused = await chat();
    expect(refused.status).toBe(502);
    expect(Number(refused.headers.get("retry-after"))).toBe(DEFAULT_COOLDOWN_MS / 1000);
    const body = (await refused.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe("upstream_unavailable");
    expect(body.error.message).toMatch(/Provider openai gave no answer on any key of its pool .*retry after 30s/);
    expect(fake.seen).toHaveLength(0);
    expect(await rowWhenWritten(h, refused.headers.get("x-gatehouse-request-id") ?? "")).toMatchObject({ status: 502, outcome: "not_forwarded", error_code: "upstream_unavailable" });

    // One key rate-limited, the other still unreachable: once both cool, the refusal is the rate limit.
    clock.advance(DEFAULT_COOLDOWN_MS);
    fake.behave("primary", "rate-limited");
    // This request ends on whichever key was tried last (weighted order): primary's 429 or secondary's missing answer.
    expect([429, 502]).toContain((await chat()).status);
    const limited = await chat();
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
  });

  it("a connection dropped before any answer on one key moves the same request to the next key and cools that key", async () => {
    await failoverFromUnanswered("refused");
  });

  it("no response headers within the upstream timeout on one key moves the same request to the next key and cools that key", async () => {
    await failoverFromUnanswered("silent");
  }, 60_000);

  it("a 429 that reaches the client cools its key for its own retry-after in seconds: skipped for exactly 7 s", async () => {
    await cooledExactly(Date.now() + 7_200_000, "7", 7_000);
  });

  it("a 429 that reaches the client cools its key until its retry-after HTTP date: skipped for exactly 12 s", async () => {
    // On a whole second: an HTTP date has no milliseconds.
    const at = Math.ceil((Date.now() + 10_800_000) / 1000) * 1000;
    await cooledExactly(at, new Date(at + 12_000).toUTCString(), 12_000);
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

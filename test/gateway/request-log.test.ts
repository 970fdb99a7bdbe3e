import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { orgConfigSchema } from "../../src/config/index.ts";
import type { Logger } from "../../src/core/logger.ts";
import { CLIENT_TOKEN, KEYS, startHarness, type Harness } from "./harness.ts";

/** Every refused or failed request leaves one log line an operator can act on, and no secret. */
const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
const capture: Logger = {
  debug: (fields, message) => lines.push({ level: "debug", message, fields }),
  info: (fields, message) => lines.push({ level: "info", message, fields }),
  warn: (fields, message) => lines.push({ level: "warn", message, fields }),
  error: (fields, message) => lines.push({ level: "error", message, fields }),
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ logger: capture });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  lines.length = 0;
  h.fake.reset();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${h.gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}`, ...headers }, body: JSON.stringify(body) });

function linesFor(requestId: string | null) {
  return lines.filter((l) => l.fields["requestId"] === requestId && l.level !== "debug");
}

function expectNoSecrets(): void {
  const text = JSON.stringify(lines);
  for (const secret of [CLIENT_TOKEN, KEYS.openai, KEYS.anthropic, KEYS.google]) expect(text).not.toContain(secret);
}

describe("the server log", () => {
  it("names the upstream host and the cause when the upstream cannot be reached", async () => {
    const current = h.gateway.deps.config.current();
    h.gateway.deps.config.replace(orgConfigSchema.parse({ ...current, providers: { ...current.providers, openai: { ...current.providers.openai, upstream: "http://127.0.0.1:9/v1" } } }));
    try {
      const res = await post("/openai/v1/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
      expect(res.status).toBe(502);
      const logged = linesFor(res.headers.get("x-gatehouse-request-id"));
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ level: "warn", fields: { provider: "openai", upstreamHost: "127.0.0.1:9", status: 502, code: "upstream_unavailable", callerId: expect.any(String) as unknown } });
      expect(JSON.stringify(logged[0]?.fields["cause"])).toContain("ECONNREFUSED");
    } finally {
      h.gateway.deps.config.replace(current);
    }
    expectNoSecrets();
  });

  it("logs a denial at info with its reason, and an upstream error status", async () => {
    const denied = await post("/openai/v1/chat/completions", { model: "gpt 5", messages: [] });
    expect(denied.status).toBe(400);
    expect(linesFor(denied.headers.get("x-gatehouse-request-id"))).toMatchObject([{ level: "info", fields: { status: 400, code: "bad_request" } }]);

    h.fake.enqueue({ status: 401 });
    const upstream = await post("/openai/v1/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    expect(upstream.status).toBe(401);
    expect(linesFor(upstream.headers.get("x-gatehouse-request-id"))).toMatchObject([{ level: "info", message: "upstream answered with an error", fields: { status: 401, code: "upstream_401" } }]);
    expectNoSecrets();
  });

  it("says which environment variable is missing when a provider has no key", async () => {
    const current = h.gateway.deps.config.current();
    h.gateway.deps.config.replace(orgConfigSchema.parse({ ...current, providers: { ...current.providers, anthropic: { ...current.providers.anthropic, apiKeyEnv: "ANTHROPIC_KEY_NOT_SET" } } }));
    try {
      const res = await post("/anthropic/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 5, messages: [{ role: "user", content: "hi" }] }, { "anthropic-version": "2023-06-01" });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain("set ANTHROPIC_KEY_NOT_SET");
      expect(linesFor(res.headers.get("x-gatehouse-request-id"))).toMatchObject([{ level: "warn", fields: { code: "not_configured" } }]);
    } finally {
      h.gateway.deps.config.replace(current);
    }
  });
});

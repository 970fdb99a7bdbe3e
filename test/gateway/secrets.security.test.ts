import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createPinoLogger } from "../../src/adapters/node/logger.ts";
import { CLIENT_TOKEN, KEYS, readChunks, startHarness } from "./harness.ts";

/** Every byte the gateway logs, at the most verbose level. */
function captureLogs(): { logger: ReturnType<typeof createPinoLogger>; text(): string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString("utf8"));
      done();
    },
  });
  return { logger: createPinoLogger("trace", sink), text: () => chunks.join("") };
}

describe("secrets never leak (security)", () => {
  it("no provider key or client token in any log line, error body or served config, across failures", async () => {
    const logs = captureLogs();
    const h = await startHarness({ logger: logs.logger });
    const seen: string[] = [];
    const call = async (path: string, body: unknown, headers: Record<string, string>) => {
      const res = await fetch(`${h.gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
      seen.push(JSON.stringify([...res.headers]), res.body ? (await readChunks(res)).text : "");
    };
    try {
      const secretPrompt = "my-prompt-text-that-must-not-be-logged";
      await call("/anthropic/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 5, messages: [{ role: "user", content: secretPrompt }] }, { "x-api-key": CLIENT_TOKEN, "anthropic-version": "2023-06-01" });
      h.fake.enqueue({ status: 500, error: { type: "api_error", message: "boom" } });
      await call("/openai/v1/chat/completions", { model: "gpt-5", messages: [{ role: "user", content: secretPrompt }] }, { authorization: `Bearer ${CLIENT_TOKEN}` });
      h.fake.enqueue({ chunks: 10, failAfterEvents: 3 });
      await call("/anthropic/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 5, stream: true, messages: [{ role: "user", content: secretPrompt }] }, { "x-api-key": CLIENT_TOKEN, "anthropic-version": "2023-06-01" });
      await call("/openai/v1/chat/completions", "{not json", { authorization: `Bearer ${CLIENT_TOKEN}` });
      await call("/google-ai-studio/v1beta/models/gemini-2.5-flash:generateContent", {}, { "x-goog-api-key": "gh_wrong_token_for_the_log_test" });
      const wellKnown = await fetch(`${h.gateway.url}/.well-known/opencode`);
      seen.push(await wellKnown.text());
      await h.gateway.ledger.flush();

      const everything = seen.join("\n") + logs.text();
      for (const key of Object.values(KEYS)) expect(everything).not.toContain(key);
      expect(logs.text()).not.toContain(CLIENT_TOKEN);
      expect(logs.text()).not.toContain("gh_wrong_token_for_the_log_test");
      expect(logs.text()).not.toContain(secretPrompt);
      // The log is not empty: the early-ended stream was logged, without its content.
      expect(logs.text()).toContain("request ended early");
    } finally {
      await h.close();
    }
  });
});

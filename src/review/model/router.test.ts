import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startModelHarness, type ModelHarness } from "../../../test/review/harness.ts";
import { CircuitBreakers } from "./breaker.ts";
import { GatewayTransport } from "./gateway.ts";
import { AllModelsFailedError, ModelRouter } from "./router.ts";
import { ModelCallError, type ChatTransport } from "./types.ts";

const request = (system: string) => ({ system, messages: [{ role: "user" as const, text: "hi" }], tools: [], maxTokens: 256 });

describe("model router: timeouts, circuit breaker, fallback chain", () => {
  let harness: ModelHarness;
  let now = 1_000;
  const clock = { now: () => now, monotonic: () => now };

  beforeAll(async () => {
    harness = await startModelHarness([
      // Far past the router's timeout below, so "timed out" never depends on machine speed.
      { reviewer: "slow", model: "claude-sonnet-4-5", turns: [{ text: "late", delayMs: 20_000 }] },
      { reviewer: "slow", turns: [{ text: "fast" }] },
      { reviewer: "down", model: "claude-sonnet-4-5", turns: [{ error: { status: 500, type: "api_error", message: "Internal server error" } }] },
      { reviewer: "down", model: "gpt-5-mini", turns: [{ error: { status: 429, type: "rate_limit_exceeded", message: "Rate limit reached" } }] },
      { reviewer: "down", turns: [{ text: "from kimi" }] },
    ]);
  });
  afterAll(() => harness.close());

  it("a timed-out model falls back to the next one", async () => {
    // The call deadline runs on the fake setTimeout (the sockets stay real): the slow model's
    // request is cut exactly at the deadline, however loaded the machine, and nothing waits 2 s.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      let sent!: () => void;
      const slowSent = new Promise<void>((resolve) => (sent = resolve));
      const transport: ChatTransport = {
        send: (model, body, signal) => {
          if (model.ref === "anthropic/claude-sonnet-4-5") sent();
          return harness.transport.send(model, body, signal);
        },
      };
      const router = new ModelRouter(transport, new CircuitBreakers(clock, 2, 60_000), 2_000);
      let settled = false;
      const answer = router.chat(["anthropic/claude-sonnet-4-5", "openai/gpt-5-mini"], request("Reviewer: slow")).finally(() => (settled = true));
      await slowSent;
      await vi.advanceTimersByTimeAsync(1_999);
      expect(settled).toBe(false);
      expect(router.attempts).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      const result = await answer;
      expect([result.ref, result.text]).toEqual(["openai/gpt-5-mini", "fast"]);
      expect(router.attempts[0]?.error).toContain("timed out");
    } finally {
      vi.useRealTimers();
    }
  });

  it("opens a circuit after repeated failures, skips it until the cooldown ends", async () => {
    const breakers = new CircuitBreakers(clock, 2, 60_000);
    const router = new ModelRouter(harness.transport, breakers, 5_000);
    const chain = ["anthropic/claude-sonnet-4-5", "openai/gpt-5-mini", "compat/@cf/moonshotai/kimi-k2.5"];
    for (let i = 0; i < 2; i += 1) expect((await router.chat(chain, request("Reviewer: down"))).text).toBe("from kimi");
    expect(breakers.openRefs()).toEqual(["anthropic/claude-sonnet-4-5", "openai/gpt-5-mini"]);
    // Only this reviewer's calls: the first test's slow answer is still pending on the fake and records itself when it ends.
    const downCalls = () => harness.fake.calls.filter((c) => c.reviewer === "down");
    const before = downCalls().length;
    await router.chat(chain, request("Reviewer: down"));
    expect(
      downCalls()
        .slice(before)
        .map((c) => c.route),
    ).toEqual(["compat"]);
    now += 60_001;
    await router.chat(chain, request("Reviewer: down"));
    expect(
      downCalls()
        .slice(before + 1)
        .map((c) => c.route),
    ).toEqual(["anthropic", "openai", "compat"]);
    await expect(router.chat(["anthropic/claude-sonnet-4-5"], request("Reviewer: down"))).rejects.toBeInstanceOf(AllModelsFailedError);
  });

  it("a rejected gateway token stops at once and never echoes the token", async () => {
    const transport = new GatewayTransport({ baseUrl: harness.server.url, token: "wrong-secret-token" });
    const router = new ModelRouter(transport, new CircuitBreakers(clock, 2, 60_000), 5_000);
    const error = await router.chat(["anthropic/claude-sonnet-4-5", "openai/gpt-5-mini"], request("Reviewer: x")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelCallError);
    expect((error as ModelCallError).kind).toBe("auth");
    expect(String((error as Error).message)).not.toContain("wrong-secret-token");
    expect(router.attempts).toEqual([]);
  });
});

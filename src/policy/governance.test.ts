import { describe, expect, it } from "vitest";
import { GatewayError } from "../core/errors.ts";
import { orgConfigSchema } from "../config/index.ts";
import { GovernancePolicy } from "./governance.ts";
import { InMemoryCounterStore } from "./counters.ts";
import { SlidingWindowRateLimiter } from "./rate-limit.ts";
import { caller, FixedClock, flatPricer, holder, ledgerRow, request } from "../../test/support/policy.ts";
import type { ConfigHolder } from "../config/index.ts";
import { isZdr } from "./zdr.ts";

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);

function setup(policy: unknown, extra: Record<string, unknown> = {}) {
  const config = holder({ providers: { openai: {}, anthropic: {}, compat: {} }, ...extra, policy });
  const clock = new FixedClock(T0);
  const counters = new InMemoryCounterStore();
  const rates = new SlidingWindowRateLimiter();
  const gov = new GovernancePolicy({ config, clock, pricer: flatPricer, counters, rates });
  return { config, clock, counters, rates, gov };
}

async function denial(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error("expected a denial");
}

const alice = caller("alice", ["eng"]);
const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 100, ...extra });

describe("permissions", () => {
  const policy = { groups: { eng: { models: ["anthropic/claude-*", "openai/gpt-5*", "compat/*"] }, interns: { models: ["openai/gpt-5-mini"] } } };

  it("allows a model a group grants and refuses one it does not, naming the model", async () => {
    const { gov } = setup(policy);
    await expect(gov.admit(request("openai", "/v1/chat/completions", chat("gpt-5"), alice))).resolves.toBeDefined();
    const err = await denial(gov.admit(request("openai", "/v1/chat/completions", chat("gpt-4o"), alice)));
    expect(err.code).toBe("forbidden");
    expect(err.message).toContain("openai/gpt-4o");
  });

  it("matches slashes in open-weight model ids with *", async () => {
    const { gov } = setup(policy);
    await expect(gov.admit(request("compat", "/v1/chat/completions", chat("@cf/meta/llama-3.1-8b"), alice))).resolves.toBeDefined();
  });

  it("unions grants across groups and refuses callers in no configured group", async () => {
    const { gov } = setup(policy);
    const intern = caller("ivy", ["interns"]);
    await expect(gov.admit(request("anthropic", "/v1/messages", chat("claude-sonnet-4-5"), intern))).rejects.toMatchObject({ code: "forbidden" });
    await expect(gov.admit(request("anthropic", "/v1/messages", chat("claude-sonnet-4-5"), caller("both", ["interns", "eng"])))).resolves.toBeDefined();
    const err = await denial(gov.admit(request("openai", "/v1/chat/completions", chat("gpt-5"), caller("bob", ["sales"]))));
    expect(err.message).toContain("none of the groups");
  });

  it("applies the default group to callers in none of the groups", async () => {
    const { gov } = setup({ ...policy, defaultGroup: "interns" });
    await expect(gov.admit(request("openai", "/v1/chat/completions", chat("gpt-5-mini"), caller("bob", [])))).resolves.toBeDefined();
    await expect(gov.admit(request("openai", "/v1/chat/completions", chat("gpt-5"), caller("bob", [])))).rejects.toMatchObject({ code: "forbidden" });
  });

  it("lets a request without a model through only on a provider the caller has patterns for", async () => {
    const { gov } = setup(policy);
    await expect(gov.admit(request("openai", "/v1/models", undefined, alice))).resolves.toBeDefined();
    await expect(gov.admit(request("google-ai-studio", "/v1beta/models", undefined, alice))).rejects.toMatchObject({ code: "forbidden" });
  });

  it("takes a changed policy on the next request, without a restart", async () => {
    const { gov, config } = setup(policy);
    await expect(gov.admit(request("openai", "/v1/chat/completions", chat("gpt-4o"), alice))).rejects.toMatchObject({ code: "forbidden" });
    config.replace(orgConfigSchema.parse({ providers: { openai: {} }, policy: { groups: { eng: { models: ["openai/*"] } } } }));
    await expect(gov.admit(request("openai", "/v1/chat/completions", chat("gpt-4o"), alice))).resolves.toBeDefined();
  });

  it("allows everything when no policy is configured", async () => {
    const { gov } = setup(undefined);
    await expect(gov.admit(request("openai", "/v1/chat/completions", chat("anything"), caller("x", [])))).resolves.toMatchObject({ bodyChanged: false });
  });
});

describe("zero data retention", () => {
  const policy = { groups: { eng: { models: ["*/*"] } }, zdr: { models: ["anthropic/claude-*"] } };
  const zdrConfig = { providers: { openai: { zeroDataRetention: true }, anthropic: {} } };

  it("sets store:false on OpenAI chat and responses, so the provider keeps nothing", async () => {
    const { gov } = setup(policy, zdrConfig);
    for (const [path, body] of [
      ["/v1/chat/completions", chat("gpt-5")],
      ["/v1/responses", { model: "gpt-5", input: "hi" }],
    ] as const) {
      const req = request("openai", path, { ...body }, alice);
      const admission = await gov.admit(req);
      expect(admission.bodyChanged).toBe(true);
      expect(req.body?.["store"]).toBe(false);
    }
  });

  it("refuses store:true, background responses and retaining endpoints with a clear message", async () => {
    const { gov } = setup(policy, zdrConfig);
    const stored = await denial(gov.admit(request("openai", "/v1/responses", { model: "gpt-5", input: "hi", store: true }, alice)));
    expect(stored.code).toBe("forbidden");
    expect(stored.message).toContain('"store": true');
    await expect(gov.admit(request("openai", "/v1/responses", { model: "gpt-5", input: "hi", background: true }, alice))).rejects.toMatchObject({ code: "forbidden" });
    for (const path of ["/v1/files", "/v1/batches", "/v1/uploads", "/v1/vector_stores", "/v1/conversations", "/v1/fine_tuning/jobs"]) {
      await expect(gov.admit(request("openai", path, { purpose: "batch" }, alice))).rejects.toMatchObject({ code: "forbidden" });
    }
    // A ZDR model on Anthropic: message batches and files are refused, messages pass untouched.
    await expect(gov.admit(request("anthropic", "/v1/messages/batches", { model: "claude-sonnet-4-5", requests: [] }, alice))).rejects.toMatchObject({ code: "forbidden" });
    const plain = request("anthropic", "/v1/messages", chat("claude-sonnet-4-5"), alice);
    await expect(gov.admit(plain)).resolves.toMatchObject({ bodyChanged: false });
    expect(plain.body?.["store"]).toBeUndefined();
  });

  it("leaves non-ZDR routes alone and marks models for the served config", async () => {
    const { gov, config } = setup(policy, { providers: { openai: {}, anthropic: {} } });
    const req = request("openai", "/v1/responses", { model: "gpt-5", input: "hi", store: true }, alice);
    await expect(gov.admit(req)).resolves.toMatchObject({ bodyChanged: false });
    expect(req.body?.["store"]).toBe(true);
    expect(isZdr(config.current(), "anthropic", "claude-opus-4-1")).toBe(true);
    expect(isZdr(config.current(), "anthropic", "haiku")).toBe(false);
    expect(isZdr(config.current(), "openai", "gpt-5")).toBe(false);
    expect(isZdr(setup(policy, zdrConfig).config.current(), "openai", "gpt-5")).toBe(true);
  });
});

describe("routing", () => {
  const policy = {
    groups: { eng: { models: ["anthropic/*", "openai/gpt-5"] }, interns: { models: ["anthropic/claude-haiku-4-5"] } },
    routing: { aliases: { default: ["anthropic/claude-opus-4-1", "anthropic/claude-sonnet-4-5", "openai/gpt-5", "anthropic/claude-haiku-4-5"] } },
    circuitBreaker: { failureThreshold: 3, openSeconds: 30 },
  };

  it("resolves an alias to the first model of the chain on this provider, with the rest as fallbacks", async () => {
    const { gov } = setup(policy);
    const admission = await gov.admit(request("anthropic", "/v1/messages", chat("default"), alice));
    expect(admission.route).toMatchObject({ model: "claude-opus-4-1", fallbacks: ["claude-sonnet-4-5", "claude-haiku-4-5"] });
    const onOpenAi = await gov.admit(request("openai", "/v1/chat/completions", chat("default"), alice));
    expect(onOpenAi.route).toMatchObject({ model: "gpt-5", fallbacks: [] });
  });

  it("keeps only the models the caller may use, and refuses when none is left", async () => {
    const { gov } = setup(policy);
    const intern = caller("ivy", ["interns"]);
    expect((await gov.admit(request("anthropic", "/v1/messages", chat("default"), intern))).route).toMatchObject({ model: "claude-haiku-4-5", fallbacks: [] });
    await expect(gov.admit(request("openai", "/v1/chat/completions", chat("default"), intern))).rejects.toMatchObject({ code: "forbidden" });
  });

  it("moves a model with an open circuit to the back, and tries it again after the open period", async () => {
    const { gov, clock } = setup(policy);
    const first = await gov.admit(request("anthropic", "/v1/messages", chat("default"), alice));
    for (let i = 0; i < 3; i++) first.recordAttempt?.("claude-opus-4-1", i === 0 ? 529 : i === 1 ? 0 : 503);
    const second = await gov.admit(request("anthropic", "/v1/messages", chat("default"), alice));
    expect(second.route).toMatchObject({ model: "claude-sonnet-4-5", fallbacks: ["claude-haiku-4-5", "claude-opus-4-1"] });
    // Client errors do not open circuits.
    for (let i = 0; i < 5; i++) second.recordAttempt?.("claude-sonnet-4-5", 400);
    clock.t += 31_000;
    const trial = await gov.admit(request("anthropic", "/v1/messages", chat("default"), alice));
    expect(trial.route?.model).toBe("claude-opus-4-1");
    // Only one trial at a time while half-open.
    const meanwhile = await gov.admit(request("anthropic", "/v1/messages", chat("default"), alice));
    expect(meanwhile.route?.model).toBe("claude-sonnet-4-5");
    trial.recordAttempt?.("claude-opus-4-1", 200);
    expect((await gov.admit(request("anthropic", "/v1/messages", chat("default"), alice))).route?.model).toBe("claude-opus-4-1");
  });

  it("prices the budget estimate on the dearest model of the chain", async () => {
    const pricer = (_p: string, model: string, u: { inputTokens: number; outputTokens: number }) => ((model === "claude-opus-4-1" ? 10 : 1) * (u.inputTokens + u.outputTokens)) / 1e6;
    const config: ConfigHolder = holder({ providers: { anthropic: {} }, policy: { ...policy, groups: { eng: { models: ["anthropic/*"], budget: { perUser: { dailyUsd: 1 } } } } } });
    const counters = new InMemoryCounterStore();
    const gov = new GovernancePolicy({ config, clock: new FixedClock(T0), pricer, counters, rates: new SlidingWindowRateLimiter() });
    const req = request("anthropic", "/v1/messages", chat("default"), alice, 900);
    await gov.admit(req);
    expect(counters.used("user:alice:d:2026-11-24")).toBeCloseTo((10 * (900 + 100)) / 1e6, 12);
  });
});

describe("rate limits", () => {
  const policy = { groups: { eng: { models: ["*/*"], rateLimit: { perUser: { requestsPerMinute: 3 }, group: { tokensPerMinute: 5000 } } } } };

  it("refuses the request past the per-user limit with retry-after, and counts per user", async () => {
    const { gov, clock } = setup(policy);
    for (let i = 0; i < 3; i++) await gov.admit(request("openai", "/v1/chat/completions", chat("gpt-5"), alice, 100));
    const err = await denial(gov.admit(request("openai", "/v1/chat/completions", chat("gpt-5"), alice, 100)));
    expect(err.code).toBe("rate_limited");
    expect(err.status).toBe(429);
    expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(err.retryAfterSeconds).toBeLessThanOrEqual(120);
    await expect(gov.admit(request("openai", "/v1/chat/completions", chat("gpt-5"), caller("bob", ["eng"]), 100))).resolves.toBeDefined();
    // Sliding window: at the retry-after the weighted count has room again.
    clock.t += (err.retryAfterSeconds ?? 0) * 1000;
    await expect(gov.admit(request("openai", "/v1/chat/completions", chat("gpt-5"), alice, 100))).resolves.toBeDefined();
  });

  it("holds estimated tokens for the group and corrects them with the real count", async () => {
    const { gov } = setup(policy);
    // Estimate: 2000 bytes + 100 max_tokens = 2100 tokens; two fit in 5000, the third not.
    const a = await gov.admit(request("openai", "/v1/chat/completions", chat("gpt-5"), caller("u1", ["eng"]), 2000));
    await gov.admit(request("openai", "/v1/chat/completions", chat("gpt-5"), caller("u2", ["eng"]), 2000));
    await expect(gov.admit(request("openai", "/v1/chat/completions", chat("gpt-5"), caller("u3", ["eng"]), 2000))).rejects.toMatchObject({ code: "rate_limited" });
    a.settle(ledgerRow({ input_tokens: 300, output_tokens: 50 }));
    await expect(gov.admit(request("openai", "/v1/chat/completions", chat("gpt-5"), caller("u3", ["eng"]), 2000))).resolves.toBeDefined();
  });
});

import { describe, expect, it } from "vitest";
import type { ConfigHolder } from "../config/index.ts";
import { providerById } from "../providers/index.ts";
import { GovernancePolicy } from "./governance.ts";
import { InMemoryCounterStore } from "./counters.ts";
import { SlidingWindowRateLimiter } from "./rate-limit.ts";
import { crossesTo } from "./routing.ts";
import { caller, FixedClock, flatPricer, holder, request } from "../../test/support/policy.ts";
import type { Caller } from "../core/caller.ts";
import type { Pricer } from "./estimate.ts";

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const BEDROCK_OPUS = "anthropic.claude-opus-4-1-20250805-v1:0";
const VERTEX_HAIKU = "claude-haiku-4-5@20251001";
const alice = caller("alice", ["eng"]);
const messages = (model: string) => ({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 100 });
const chainOf = (route: { chain?: readonly { provider: { id: string }; model: string }[] | undefined } | undefined) => route?.chain?.map((t) => `${t.provider.id}/${t.model}`);

function setup(policy: unknown, providers: Record<string, unknown> = { anthropic: {}, bedrock: { region: "us-east-1" }, vertex: { project: "my-project-1" }, "google-ai-studio": {} }, pricer: Pricer = flatPricer) {
  const config: ConfigHolder = holder({ providers, policy });
  const clock = new FixedClock(T0);
  const counters = new InMemoryCounterStore();
  const gov = new GovernancePolicy({ config, clock, pricer, counters, rates: new SlidingWindowRateLimiter() });
  return { gov, counters, clock };
}

const policy = (chain: string[], extra: Record<string, unknown> = {}) => ({ groups: { eng: { models: ["anthropic/*", "bedrock/*", "vertex/*", "google-ai-studio/*"] }, direct: { models: ["anthropic/*"] } }, routing: { aliases: { fast: chain } }, ...extra });

describe("which entries a chain keeps across providers", () => {
  it("crossesTo: Anthropic's Messages endpoint to Claude on Vertex and Bedrock only; nothing else crosses", () => {
    const anthropic = providerById("anthropic");
    const bedrock = providerById("bedrock");
    const vertex = providerById("vertex");
    const google = providerById("google-ai-studio");
    expect(crossesTo(anthropic, "messages", vertex, VERTEX_HAIKU)).toBe(true);
    expect(crossesTo(anthropic, "messages", bedrock, BEDROCK_OPUS)).toBe(true);
    expect(crossesTo(anthropic, "messages", bedrock, `us.${BEDROCK_OPUS}`)).toBe(true);
    // Another model family on the cloud does not take Anthropic's body.
    expect(crossesTo(anthropic, "messages", bedrock, "amazon.nova-pro-v1:0")).toBe(false);
    expect(crossesTo(anthropic, "messages", vertex, "gemini-2.5-pro")).toBe(false);
    // Endpoints without an exact counterpart, and other wire formats.
    expect(crossesTo(anthropic, "count_tokens", vertex, VERTEX_HAIKU)).toBe(false);
    expect(crossesTo(google, "generate", vertex, "gemini-2.5-pro")).toBe(false);
    // OpenAI's chat and Responses to Azure OpenAI's v1 API; embeddings stay.
    const openai = providerById("openai");
    const azure = providerById("azure-openai");
    expect(crossesTo(openai, "chat", azure, "gpt-5-mini")).toBe(true);
    expect(crossesTo(openai, "responses", azure, "gpt-5-mini")).toBe(true);
    expect(crossesTo(openai, "embeddings", azure, "text-embedding-3-small")).toBe(false);
    expect(crossesTo(anthropic, "messages", azure, "gpt-5-mini")).toBe(false);
    expect(crossesTo(openai, "chat", vertex, VERTEX_HAIKU)).toBe(false);
    expect(crossesTo(azure, "chat", openai, "gpt-5-mini")).toBe(false);
    // The clouds are targets, not sources: their clients' formats are not translated back.
    expect(crossesTo(vertex, "messages", anthropic, "claude-haiku-4-5")).toBe(false);
    expect(crossesTo(bedrock, "invoke", anthropic, "claude-haiku-4-5")).toBe(false);
  });

  it("keeps compatible entries on configured providers, with their provider, in order", async () => {
    const { gov } = setup(policy(["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_OPUS}`, "openai/gpt-5", `vertex/${VERTEX_HAIKU}`, "vertex/gemini-2.5-pro"]));
    const admission = await gov.admit(request("anthropic", "/v1/messages", messages("fast"), alice));
    expect(chainOf(admission.route)).toEqual(["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_OPUS}`, `vertex/${VERTEX_HAIKU}`]);
    expect(admission.route).toMatchObject({ model: "claude-opus-4-1", fallbacks: [BEDROCK_OPUS, VERTEX_HAIKU] });
  });

  it("drops an entry on a provider this gateway has not configured", async () => {
    const { gov } = setup(policy(["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_OPUS}`]), { anthropic: {} });
    expect(chainOf((await gov.admit(request("anthropic", "/v1/messages", messages("fast"), alice))).route)).toEqual(["anthropic/claude-opus-4-1"]);
  });

  it("a Gemini request never crosses to Vertex AI, nor count_tokens to the clouds", async () => {
    const { gov } = setup(policy(["google-ai-studio/gemini-2.5-pro", "vertex/gemini-2.5-pro"]));
    const gemini = await gov.admit(request("google-ai-studio", "/v1beta/models/fast:generateContent", { contents: [{ parts: [{ text: "hi" }] }] }, alice));
    expect(chainOf(gemini.route)).toEqual(["google-ai-studio/gemini-2.5-pro"]);
    const counts = setup(policy(["anthropic/claude-haiku-4-5", `vertex/${VERTEX_HAIKU}`]));
    expect(chainOf((await counts.gov.admit(request("anthropic", "/v1/messages/count_tokens", messages("fast"), alice))).route)).toEqual(["anthropic/claude-haiku-4-5"]);
  });

  it("keeps only the entries the caller may use: a group allowed Anthropic only never reaches the clouds", async () => {
    const { gov } = setup(policy(["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_OPUS}`]));
    const direct = caller("dora", ["direct"]);
    expect(chainOf((await gov.admit(request("anthropic", "/v1/messages", messages("fast"), direct))).route)).toEqual(["anthropic/claude-opus-4-1"]);
  });

  it("a service account reaches another provider only when its routes and model globs name it", async () => {
    const { gov } = setup(policy(["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_OPUS}`]));
    const account = (routes: string[], models: string[]): Caller => ({ ...alice, id: "sa-1", serviceAccount: { name: "ci", routes, models, limits: {}, mcpServers: [], metricsRead: false, admin: false } });
    const narrow = await gov.admit(request("anthropic", "/v1/messages", messages("fast"), account(["anthropic"], ["*"])));
    expect(chainOf(narrow.route)).toEqual(["anthropic/claude-opus-4-1"]);
    const globs = await gov.admit(request("anthropic", "/v1/messages", messages("fast"), account(["*"], ["anthropic/*"])));
    expect(chainOf(globs.route)).toEqual(["anthropic/claude-opus-4-1"]);
    const wide = await gov.admit(request("anthropic", "/v1/messages", messages("fast"), account(["anthropic", "bedrock"], ["anthropic/*", "bedrock/*"])));
    expect(chainOf(wide.route)).toEqual(["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_OPUS}`]);
  });
});

describe("governance across providers", () => {
  it("zero data retention: a ZDR request keeps only ZDR entries on other providers", async () => {
    const chain = ["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_OPUS}`, `vertex/${VERTEX_HAIKU}`];
    const { gov } = setup(policy(chain), { anthropic: { zeroDataRetention: true }, bedrock: { region: "us-east-1" }, vertex: { project: "my-project-1", zeroDataRetention: true } });
    expect(chainOf((await gov.admit(request("anthropic", "/v1/messages", messages("fast"), alice))).route)).toEqual(["anthropic/claude-opus-4-1", `vertex/${VERTEX_HAIKU}`]);
    // A ZDR model pattern on a fallback makes the request ZDR too: the non-ZDR entry on another provider goes.
    const byPattern = setup(policy(chain, { zdr: { models: [`vertex/${VERTEX_HAIKU}`] } }));
    expect(chainOf((await byPattern.gov.admit(request("anthropic", "/v1/messages", messages("fast"), alice))).route)).toEqual(["anthropic/claude-opus-4-1", `vertex/${VERTEX_HAIKU}`]);
  });

  it("a request naming no model on a ZDR provider is not refused by the chain filter (there is no chain)", async () => {
    const { gov } = setup(policy(["anthropic/claude-haiku-4-5"]), { anthropic: { zeroDataRetention: true } });
    await expect(gov.admit(request("anthropic", "/v1/models", undefined, alice))).resolves.toBeDefined();
  });

  it("reserves the budget for the dearest entry, priced at each entry's own provider", async () => {
    const seen: string[] = [];
    const pricer: Pricer = (provider, model, u) => {
      seen.push(`${provider}/${model}`);
      return ((provider === "bedrock" ? 10 : 1) * (u.inputTokens + u.outputTokens)) / 1e6;
    };
    const budgeted = policy(["anthropic/claude-haiku-4-5", `bedrock/${BEDROCK_OPUS}`], {});
    budgeted.groups.eng = { ...budgeted.groups.eng, budget: { perUser: { dailyUsd: 1 } } } as typeof budgeted.groups.eng;
    const { gov, counters } = setup(budgeted, undefined, pricer);
    await gov.admit(request("anthropic", "/v1/messages", messages("fast"), alice, 900));
    expect(seen).toContain(`bedrock/${BEDROCK_OPUS}`);
    expect(counters.used("user:alice:d:2026-12-01")).toBeCloseTo((10 * (900 + 100)) / 1e6, 12);
  });

  it("keys the circuit breaker by provider/model: a failing Bedrock model moves back, the same id elsewhere is untouched", async () => {
    const { gov } = setup(policy([`bedrock/${BEDROCK_OPUS}`, `vertex/${VERTEX_HAIKU}`, "anthropic/claude-opus-4-1"], { circuitBreaker: { failureThreshold: 2, openSeconds: 30 } }));
    const first = await gov.admit(request("anthropic", "/v1/messages", messages("fast"), alice));
    first.recordAttempt?.(BEDROCK_OPUS, 503, "bedrock");
    first.recordAttempt?.(BEDROCK_OPUS, 529, "bedrock");
    // The same model name reported for another provider counts there, not on Bedrock.
    first.recordAttempt?.(VERTEX_HAIKU, 503, "anthropic");
    first.recordAttempt?.(VERTEX_HAIKU, 503, "anthropic");
    const second = await gov.admit(request("anthropic", "/v1/messages", messages("fast"), alice));
    expect(chainOf(second.route)).toEqual([`vertex/${VERTEX_HAIKU}`, "anthropic/claude-opus-4-1", `bedrock/${BEDROCK_OPUS}`]);
  });
});

import { describe, expect, it } from "vitest";
import { checkedQuery, classify, matchEndpoint } from "./endpoints.ts";
import { providerById, providers } from "./registry.ts";
import { PROVIDER_IDS } from "./ids.ts";

const anthropic = providerById("anthropic");
const openai = providerById("openai");
const google = providerById("google-ai-studio");
const compat = providerById("compat");

describe("the registry", () => {
  it("holds one descriptor per provider id, with unique route prefixes", () => {
    expect(providers.map((p) => p.id)).toEqual([...PROVIDER_IDS]);
    expect(new Set(providers.map((p) => p.routePrefix)).size).toBe(providers.length);
  });
  it("declares no endpoint that reads a body raw and is metered (tokens are never forwarded unparsed)", () => {
    for (const p of providers) for (const e of p.endpoints) if (e.metered) expect([p.id, e.name, e.body, e.model === "none"]).toEqual([p.id, e.name, "json", false]);
  });
});

describe("endpoints the real clients call are declared", () => {
  it.each([
    // Claude Code
    ["anthropic", "POST", "/v1/messages", [["beta", "true"]], "messages"],
    ["anthropic", "POST", "/v1/messages/count_tokens", [["beta", "true"]], "count_tokens"],
    ["anthropic", "GET", "/v1/models", [["beta", "true"]], "models.list"],
    // Codex, OpenCode, the OpenAI SDK
    ["openai", "POST", "/v1/responses", [], "responses"],
    ["openai", "POST", "/v1/chat/completions", [], "chat"],
    ["openai", "POST", "/chat/completions", [], "chat"],
    ["openai", "POST", "/v1/embeddings", [], "embeddings"],
    ["openai", "GET", "/v1/models", [], "models.list"],
    ["openai", "GET", "/v1/models", [["client_version", "0.72.0"]], "models.list"],
    ["compat", "GET", "/v1/models", [["client_version", "0.72.0"]], "models.list"],
    ["openai", "GET", "/v1/models/gpt-5", [], "models.read"],
    ["compat", "POST", "/v1/chat/completions", [], "chat"],
    ["compat", "POST", "/chat/completions", [], "chat"],
    // Gemini CLI and @google/genai
    ["google-ai-studio", "POST", "/v1beta/models/gemini-2.5-pro:generateContent", [], "generate"],
    ["google-ai-studio", "POST", "/v1/models/gemini-2.5-pro:generateContent", [], "generate"],
    ["google-ai-studio", "POST", "/v1alpha/models/gemini-2.5-pro:generateContent", [], "generate"],
    ["google-ai-studio", "POST", "/v1beta/models/gemini-2.5-pro:streamGenerateContent", [["alt", "sse"]], "stream_generate"],
    ["google-ai-studio", "POST", "/v1beta/models/gemini-2.5-pro:countTokens", [], "count_tokens"],
    ["google-ai-studio", "GET", "/v1beta/models", [["pageSize", "50"]], "models.list"],
  ] as const)("%s: %s %s", (id, method, path, query, name) => {
    const provider = providerById(id);
    const match = matchEndpoint(provider, method, path);
    expect(match.spec.name).toBe(name);
    expect(() => checkedQuery(provider, match.spec, query, false)).not.toThrow();
  });
});

describe("default deny", () => {
  it("refuses an undeclared path with 404 and a declared path on another method with 405", () => {
    expect(() => matchEndpoint(openai, "POST", "/v1/completions")).toThrow(expect.objectContaining({ code: "not_found" }) as Error);
    expect(() => matchEndpoint(anthropic, "POST", "/messages")).toThrow(expect.objectContaining({ code: "not_found" }) as Error);
    expect(() => matchEndpoint(anthropic, "GET", "/v1/messages")).toThrow(expect.objectContaining({ code: "method_not_allowed" }) as Error);
    expect(() => matchEndpoint(google, "POST", "/v1beta/models/gemini-2.5-pro:generateContent/x")).toThrow(expect.objectContaining({ code: "not_found" }) as Error);
    expect(() => matchEndpoint(google, "POST", "/v2/models/gemini-2.5-pro:generateContent")).toThrow(expect.objectContaining({ code: "not_found" }) as Error);
    expect(() => matchEndpoint(google, "POST", "/models/gemini-2.5-pro:generateContent")).toThrow(expect.objectContaining({ code: "not_found" }) as Error);
  });
  it("serves an org-listed pass-through path, exactly", () => {
    const listed = [{ method: "POST" as const, path: "/v1/audio/{id}" }];
    expect(matchEndpoint(openai, "POST", "/v1/audio/speech", listed).spec.name).toBe("passthrough");
    expect(() => matchEndpoint(openai, "POST", "/v1/audio/speech/x", listed)).toThrow(expect.objectContaining({ code: "not_found" }) as Error);
    expect(() => matchEndpoint(openai, "GET", "/v1/audio/speech", listed)).toThrow(expect.objectContaining({ code: "method_not_allowed" }) as Error);
  });
});

describe("request shapes", () => {
  it("reads the model and streaming the way the upstream does, and refuses what it cannot read", () => {
    expect(classify(openai, "POST", "/v1/chat/completions", [], { model: "gpt-5", stream: true })).toMatchObject({ model: "gpt-5", streaming: true, metered: true, endpoint: "chat" });
    expect(classify(google, "POST", "/v1beta/models/gemini-2.5-pro:streamGenerateContent", [["alt", "sse"]], {})).toMatchObject({ model: "gemini-2.5-pro", streaming: true });
    expect(classify(google, "POST", "/v1beta/models/gemini-2.5-pro:streamGenerateContent", [], {})).toMatchObject({ streaming: false });
    for (const body of [{}, { model: "" }, { model: 1 }, { model: "gpt 5" }, { model: "gpt-5\n" }, { model: "gpt-5", stream: "true" }, { model: "gpt-5", stream: 1 }]) {
      expect(() => classify(openai, "POST", "/v1/chat/completions", [], body), JSON.stringify(body)).toThrow(expect.objectContaining({ code: "bad_request" }) as Error);
    }
    expect(classify(compat, "POST", "/v1/chat/completions", [], { model: "@cf/meta/llama-3.1-8b" }).model).toBe("@cf/meta/llama-3.1-8b");
  });
  it("checks query parameters after decoding: unknown names, other values and repeats are refused; credentials dropped", () => {
    const stream = matchEndpoint(google, "POST", "/v1beta/models/m:streamGenerateContent").spec;
    expect(
      checkedQuery(
        google,
        stream,
        [
          ["key", "t"],
          ["alt", "sse"],
        ],
        false,
      ),
    ).toEqual([["alt", "sse"]]);
    for (const q of [
      [["alt", "proto"]],
      [["$alt", "sse"]],
      [["fields", "x"]],
      [
        ["alt", "sse"],
        ["alt", "json"],
      ],
    ] as Array<Array<[string, string]>>) {
      expect(() => checkedQuery(google, stream, q, false), JSON.stringify(q)).toThrow(expect.objectContaining({ code: "bad_request" }) as Error);
    }
  });
});

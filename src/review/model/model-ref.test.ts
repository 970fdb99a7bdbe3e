import { describe, expect, it } from "vitest";
import { parseModelRef } from "./types.ts";

describe("parseModelRef: the reviewer's route to a model comes from the provider's descriptor", () => {
  it("Anthropic goes to Messages with x-api-key, OpenAI to Chat Completions with max_completion_tokens, compat with max_tokens", () => {
    expect(parseModelRef("anthropic/claude-sonnet-4-5").chat).toEqual({ path: "/anthropic/v1/messages", format: "anthropic-messages", tokenHeader: "x-api-key", maxTokensField: "max_tokens" });
    expect(parseModelRef("openai/gpt-5-mini").chat).toEqual({ path: "/openai/v1/chat/completions", format: "openai-chat", tokenHeader: "authorization", maxTokensField: "max_completion_tokens" });
    expect(parseModelRef("compat/@cf/moonshotai/kimi-k2.5")).toMatchObject({ provider: "compat", model: "@cf/moonshotai/kimi-k2.5", chat: { path: "/compat/v1/chat/completions", maxTokensField: "max_tokens" } });
  });

  it("refuses providers without a chat endpoint, unknown providers and malformed refs, naming what is accepted", () => {
    for (const ref of ["google-ai-studio/gemini-2.5-pro", "mistral/large", "openai/", "/gpt-5", "gpt-5", "OpenAI/gpt-5"]) {
      expect(() => parseModelRef(ref)).toThrow(/expected anthropic\/<model>, openai\/<model>/);
    }
  });
});

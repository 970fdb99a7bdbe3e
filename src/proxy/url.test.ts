import { describe, expect, it } from "vitest";
import { upstreamUrl } from "./url.ts";

describe("upstreamUrl", () => {
  it("appends the path after the route prefix to the upstream base", () => {
    expect(upstreamUrl("https://api.anthropic.com", "/v1/messages", "")).toBe("https://api.anthropic.com/v1/messages");
  });

  it("does not double a version segment the base already ends in", () => {
    expect(upstreamUrl("https://api.openai.com/v1", "/v1/chat/completions", "")).toBe("https://api.openai.com/v1/chat/completions");
    expect(upstreamUrl("https://api.openai.com/v1/", "/responses", "")).toBe("https://api.openai.com/v1/responses");
    expect(upstreamUrl("http://127.0.0.1:1/v1beta", "/v1beta/models/gemini-2.5-pro:streamGenerateContent", "?alt=sse")).toBe("http://127.0.0.1:1/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse");
  });

  it("lets the version the path names win over the base's", () => {
    expect(upstreamUrl("http://h/v1beta", "/v1/models/m:generateContent", "")).toBe("http://h/v1/models/m:generateContent");
    expect(upstreamUrl("http://h/v1beta", "/v1alpha/models", "")).toBe("http://h/v1alpha/models");
    expect(upstreamUrl("https://generativelanguage.googleapis.com", "/v1beta/models", "?pageSize=5")).toBe("https://generativelanguage.googleapis.com/v1beta/models?pageSize=5");
    expect(upstreamUrl("http://h/api/v1", "/chat/completions", "")).toBe("http://h/api/v1/chat/completions");
  });
});

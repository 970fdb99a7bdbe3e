import { describe, expect, it } from "vitest";
import { canonicalTarget, encodeQuery } from "./canonical.ts";

const target = (path: string, search = "", prefix = "/openai") => canonicalTarget(path, search, prefix);

describe("canonicalTarget", () => {
  it("decodes escapes, resolves dot segments and collapses slashes, then re-encodes for the upstream", () => {
    expect(target("/openai/v1/chat/completion%73").path).toBe("/v1/chat/completions");
    expect(target("/openai/v1/chat/x/../completions").path).toBe("/v1/chat/completions");
    expect(target("/openai/v1/chat/x/%2e%2E/./completions").path).toBe("/v1/chat/completions");
    expect(target("//openai//v1///chat/completions").path).toBe("/v1/chat/completions");
    expect(target("/openai/v9/../v1/models").path).toBe("/v1/models");
    const gemini = canonicalTarget("/google-ai-studio/v1beta/models/gemini-2.5-pro%3AgenerateContent", "", "/google-ai-studio/v1beta");
    expect(gemini.path).toBe("/models/gemini-2.5-pro:generateContent");
    expect(gemini.forwardPath).toBe("/models/gemini-2.5-pro:generateContent");
    const spaced = target("/openai/v1/files/a%20b%C3%A9");
    expect(spaced.path).toBe("/v1/files/a bé");
    expect(spaced.forwardPath).toBe("/v1/files/a%20b%C3%A9");
  });

  it.each([
    ["/openai/v1/chat%2Fcompletions", "encodes"],
    ["/openai/v1/chat%2fcompletions", "encodes"],
    ["/openai/v1/chat%5Ccompletions", "encodes"],
    ["/openai/v1/chat\\completions", "backslash"],
    ["/openai/v1/chat/completions%00", "control"],
    ["/openai/v1/chat/completions%0a", "control"],
    ["/openai/v1/chat/completions%zz", "invalid percent-escape"],
    ["/openai/v1/chat/completions%2", "invalid percent-escape"],
    ["/openai/v1/chat/completions%C3", "not valid UTF-8"],
    ["/openai/v1/chat/completions%252F", "encodes"],
    ["/openai/../../etc/passwd", "climbs above the root"],
    ["/openai/../anthropic/v1/messages", "leaves the /openai route"],
    ["openai/v1/models", "must be a path"],
  ])("refuses %s", (path, reason) => {
    expect(() => target(path)).toThrow(reason);
  });

  it("decodes the query once, as the upstream does, and re-encodes it", () => {
    const t = target("/openai/v1/models", "?k%65y=tok&alt=s%73e&q=a+b&flag");
    expect(t.query).toEqual([
      ["key", "tok"],
      ["alt", "sse"],
      ["q", "a b"],
      ["flag", ""],
    ]);
    expect(encodeQuery(t.query.slice(1))).toBe("?alt=sse&q=a%20b&flag=");
    expect(() => target("/openai/v1/models", "?a=%zz")).toThrow("invalid percent-escape");
    expect(() => target("/openai/v1/models", "?a=%00")).toThrow("control");
    expect(encodeQuery([])).toBe("");
  });
});

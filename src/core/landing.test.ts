import { describe, expect, it } from "vitest";
import { notFoundBody, routeDirectory, routeHint } from "./landing.ts";

const mounted = [
  { method: "ALL", path: "*" },
  { method: "GET", path: "/healthz" },
  { method: "ALL", path: "/anthropic/*" },
  { method: "ALL", path: "/openai/*" },
  { method: "ALL", path: "/google-ai-studio/v1beta/*" },
  { method: "ALL", path: "/compat/*" },
  { method: "GET", path: "/.well-known/opencode" },
  { method: "GET", path: "/dashboard" },
  { method: "ALL", path: "/dashboard/*" },
  { method: "GET", path: "/dashboard/login" },
  { method: "GET", path: "/mcp/oauth/:server/start" },
  { method: "GET", path: "/experimental" },
];

describe("routeDirectory", () => {
  it("lists each entry point once, read from the mounted routes, described ones first", () => {
    const paths = routeDirectory(mounted).map((e) => e.path);
    expect(paths).toEqual(["/anthropic", "/openai", "/google-ai-studio", "/compat", "/.well-known/opencode", "/dashboard", "/healthz", "/experimental"]);
    expect(routeDirectory(mounted).find((e) => e.path === "/experimental")?.description).toBe("");
  });
});

describe("routeHint", () => {
  const directory = routeDirectory(mounted);
  it("sends /v1/chat/completions to /openai/v1 or /compat/v1", () => {
    expect(routeHint("/v1/chat/completions", directory)).toBe(
      "Each provider has its own prefix: use /openai/v1/chat/completions for OpenAI (base URL {origin}/openai/v1), or /compat/v1/chat/completions for an OpenAI-compatible server (base URL {origin}/compat/v1).",
    );
  });
  it("also catches the other spellings SDKs produce: no /v1, responses, embeddings, models", () => {
    for (const path of ["/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/models", "/responses"]) expect(routeHint(path, directory), path).toContain("/openai/v1");
  });
  it("sends /v1/messages to /anthropic and /v1beta to Gemini's prefix", () => {
    expect(routeHint("/v1/messages", directory)).toContain("/anthropic/v1/messages");
    expect(routeHint("/v1beta/models/gemini-2.5-pro:generateContent", directory)).toContain("/google-ai-studio/v1beta/models/gemini-2.5-pro:generateContent");
  });
  it("suggests only prefixes that are mounted", () => {
    const onlyCompat = routeDirectory([{ method: "ALL", path: "/compat/*" }]);
    expect(routeHint("/v1/chat/completions", onlyCompat)).not.toContain("/openai");
    expect(routeHint("/v1/messages", onlyCompat)).toBeUndefined();
  });
});

describe("notFoundBody", () => {
  const directory = routeDirectory(mounted);
  it("answers an OpenAI-style path in OpenAI's error shape, with the hint and the routes", () => {
    const body = notFoundBody("POST", "/v1/chat/completions", "https://gw.example.com", directory, "rid");
    expect(body).toEqual({ error: { message: expect.stringContaining("https://gw.example.com/openai/v1"), type: "invalid_request_error", param: null, code: "not_found" } });
    expect(JSON.stringify(body)).toContain("Routes: /anthropic, /openai");
  });
  it("answers /v1/messages in Anthropic's error shape", () => {
    expect(notFoundBody("POST", "/v1/messages", "http://x", directory, "rid")).toEqual({ type: "error", error: { type: "not_found_error", message: expect.stringContaining("/anthropic/v1/messages") } });
  });
  it("answers other paths in the gateway's own shape with the request id", () => {
    expect(notFoundBody("GET", "/nope", "http://x", directory, "rid")).toEqual({ error: { code: "not_found", message: expect.stringContaining("No route for GET /nope. Routes: /anthropic"), requestId: "rid" } });
  });
});

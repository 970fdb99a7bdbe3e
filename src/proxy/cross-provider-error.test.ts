import { describe, expect, it } from "vitest";
import { providerById } from "../providers/index.ts";
import { crossProviderErrorBody } from "./cross-provider-error.ts";

const anthropic = providerById("anthropic");
const bedrock = providerById("bedrock");
const vertex = providerById("vertex");

function rewrite(status: number, target: typeof bedrock, body: string, pieces = 3): { type: string; error: { type: string; message: string }; request_id: string } {
  const t = crossProviderErrorBody(status, anthropic, target, "claude-fallback", "m-1", "req-1");
  const bytes = new TextEncoder().encode(body);
  const step = Math.max(1, Math.ceil(bytes.byteLength / pieces));
  for (let at = 0; at < bytes.byteLength; at += step) expect(t.transform(bytes.subarray(at, at + step)).byteLength).toBe(0);
  return JSON.parse(new TextDecoder().decode(t.flush())) as { type: string; error: { type: string; message: string }; request_id: string };
}

describe("a fallback provider's error in Anthropic's error body", () => {
  it("quotes Bedrock's `message`, Google's and Anthropic's `error.message`", () => {
    expect(rewrite(400, bedrock, JSON.stringify({ message: "Malformed input request: extraneous key [x]" }))).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: expect.stringContaining("Amazon Bedrock, the fallback for model claude-fallback, answered 400 for m-1: Malformed input request: extraneous key [x].") },
      request_id: "req-1",
    });
    expect(rewrite(403, vertex, JSON.stringify({ error: { code: 403, message: "Permission denied", status: "PERMISSION_DENIED" } })).error).toMatchObject({ type: "api_error", message: expect.stringContaining("answered 403 for m-1: Permission denied.") });
    expect(rewrite(529, vertex, JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })).error.message).toContain("answered 529 for m-1: Overloaded. The fallback is unavailable too; retry later.");
    expect(rewrite(429, bedrock, JSON.stringify({ message: "Too many tokens" })).error.type).toBe("rate_limit_error");
  });

  it("a body that is not JSON, has no message, or is too long to read: the status alone, never the bytes", () => {
    expect(rewrite(502, bedrock, "<html>bad gateway</html>").error.message).toBe("Amazon Bedrock, the fallback for model claude-fallback, answered 502 for m-1. The fallback is unavailable too; retry later.");
    expect(rewrite(400, bedrock, JSON.stringify({ code: 7 })).error.message).not.toContain("code");
    const long = JSON.stringify({ message: "x".repeat(70 * 1024) });
    expect(rewrite(400, bedrock, long, 40).error.message).not.toContain("xxx");
    expect(rewrite(400, bedrock, JSON.stringify({ message: `a\n${"y".repeat(900)}` })).error.message).toContain(`a ${"y".repeat(498)}.`);
  });
});

import { describe, expect, it } from "vitest";
import { silentLogger } from "../core/logger.ts";
import { anthropic } from "../providers/anthropic.ts";
import { openai } from "../providers/openai.ts";
import { aiGatewayErrorOf, aiGatewayErrorTransform, aiGatewayUpstream, signedForProviderHost } from "./ai-gateway.ts";
import { upstreamProviderSchema } from "../config/schema.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function through(status: number, chunks: string[], provider = anthropic): string {
  const transform = aiGatewayErrorTransform(provider, "req-1", silentLogger)(status);
  let out = "";
  for (const chunk of chunks) out += decoder.decode(transform.transform(encoder.encode(chunk)));
  return out + decoder.decode(transform.flush());
}

describe("AI Gateway's own errors", () => {
  it("recognises the Cloudflare envelope and the AiGatewayError body, and nothing a provider sends", () => {
    expect(aiGatewayErrorOf({ success: false, result: [], messages: [], error: [{ code: 2009, message: "Unauthorized" }] })).toEqual({ code: 2009, message: "Unauthorized" });
    expect(aiGatewayErrorOf({ name: "AiGatewayError", internalCode: 2009, message: "Unauthorized" })).toEqual({ code: 2009, message: "Unauthorized" });
    expect(aiGatewayErrorOf({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } })).toBeUndefined();
    expect(aiGatewayErrorOf({ error: { message: "Incorrect API key provided", type: "invalid_request_error" } })).toBeUndefined();
    expect(aiGatewayErrorOf([1])).toBeUndefined();
  });

  it("rewrites AI Gateway's 401 into the provider's error shape (split across chunks), and passes a provider's own error or a non-JSON body byte for byte", () => {
    const rewritten = JSON.parse(through(401, ['{"success":false,"result":[],', '"messages":[],"error":[{"code":2009,"message":"Unauthorized"}]}'])) as { type: string; error: { type: string; message: string } };
    expect(rewritten.type).toBe("error");
    expect(rewritten.error.message).toContain("Cloudflare AI Gateway answered 401 (code 2009): Unauthorized.");
    const own = '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}';
    expect(through(401, [own.slice(0, 10), own.slice(10)])).toBe(own);
    expect(through(502, ["<html>bad gateway</html>"])).toBe("<html>bad gateway</html>");
    const openaiBody = JSON.parse(through(429, ['{"success":false,"result":[],"messages":[],"error":[{"code":2003,"message":"Rate limited"}]}'], openai)) as { error: { message: string } };
    expect(openaiBody.error.message).toContain("AI Gateway's own rate limit");
  });

  it("passes a body larger than it reads (64 KiB) unchanged", () => {
    const big = `{"success":false,"pad":"${"x".repeat(70 * 1024)}","error":[{"code":1}]}`;
    expect(through(400, [big.slice(0, 40_000), big.slice(40_000)])).toBe(big);
  });
});

describe("aiGatewayUpstream", () => {
  const config = upstreamProviderSchema.parse({ via: { cloudflareAiGateway: { accountId: "0123456789abcdef0123456789abcdef", gatewayId: "gw", tokenEnv: "CF_AIG_TOKEN" } } });
  it("is not_configured without its token, naming the env var", () => {
    expect(() => aiGatewayUpstream(anthropic, config, { get: () => undefined })).toThrow(/set CF_AIG_TOKEN/);
  });
  it("carries the token and one metadata entry: the caller's anonymous id", () => {
    const up = aiGatewayUpstream(anthropic, config, { get: (name) => (name === "CF_AIG_TOKEN" ? "tok" : undefined) });
    expect(up?.base).toBe("https://gateway.ai.cloudflare.com/v1/0123456789abcdef0123456789abcdef/gw/anthropic");
    expect(up?.headers("3f0c-anon")).toEqual({ "cf-aig-authorization": "Bearer tok", "cf-aig-metadata": '{"userId":"3f0c-anon"}' });
  });
  it("refuses (not_configured) a provider whose descriptor has no AI Gateway endpoint, before reading any secret", () => {
    const undocumented = { ...anthropic, aiGateway: undefined };
    expect(() => aiGatewayUpstream(undocumented, config, { get: () => "tok" })).toThrow(/cannot go via Cloudflare AI Gateway: Cloudflare documents no AI Gateway endpoint/);
  });
  it("is undefined for a direct route", () => {
    expect(aiGatewayUpstream(anthropic, upstreamProviderSchema.parse({}), { get: () => "x" })).toBeUndefined();
  });
});

describe("signedForProviderHost", () => {
  it("signs the provider-host URL without cf-aig-* headers, then sends the signed path to the gateway without a host header", async () => {
    let signedInput: { url: string; headers: Record<string, string> } | undefined;
    const signer = signedForProviderHost(
      (request) => {
        signedInput = { url: request.url, headers: request.headers };
        return Promise.resolve({ ...request, url: request.url.replace("v1:0", "v1%3A0"), headers: { ...request.headers, host: "bedrock-runtime.us-east-1.amazonaws.com", authorization: "AWS4-HMAC-SHA256 …" } });
      },
      "https://g/v1/a/gw/aws-bedrock/bedrock-runtime/us-east-1",
      "https://bedrock-runtime.us-east-1.amazonaws.com",
    );
    const out = await signer({ url: "https://g/v1/a/gw/aws-bedrock/bedrock-runtime/us-east-1/model/m-v1:0/invoke", method: "POST", headers: { "content-type": "application/json", "cf-aig-authorization": "Bearer t", "cf-aig-metadata": "{}" }, body: undefined });
    expect(signedInput).toEqual({ url: "https://bedrock-runtime.us-east-1.amazonaws.com/model/m-v1:0/invoke", headers: { "content-type": "application/json" } });
    expect(out.url).toBe("https://g/v1/a/gw/aws-bedrock/bedrock-runtime/us-east-1/model/m-v1%3A0/invoke");
    expect(out.headers).toEqual({ "content-type": "application/json", authorization: "AWS4-HMAC-SHA256 …", "cf-aig-authorization": "Bearer t", "cf-aig-metadata": "{}" });
  });
});

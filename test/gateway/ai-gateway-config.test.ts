import { describe, expect, it } from "vitest";
import { orgConfigSchema } from "../../src/config/index.ts";
import { configuredProviderKeys } from "../../src/proxy/index.ts";

/** `providers.<id>.via.cloudflareAiGateway`: what the config accepts, and the clear errors for what it refuses. */
const via = (extra: Record<string, unknown> = {}) => ({ cloudflareAiGateway: { accountId: "0123456789abcdef0123456789abcdef", gatewayId: "prod-gw", tokenEnv: "CF_AIG_TOKEN", ...extra } });

function issues(providers: Record<string, unknown>): string[] {
  const result = orgConfigSchema.safeParse({ providers });
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("via.cloudflareAiGateway", () => {
  it("accepts a route via AI Gateway with defaults: byok false, Cloudflare's base URL", () => {
    const parsed = orgConfigSchema.parse({ providers: { anthropic: { via: via() } } });
    expect(parsed.providers.anthropic?.via?.cloudflareAiGateway).toEqual({ accountId: "0123456789abcdef0123456789abcdef", gatewayId: "prod-gw", tokenEnv: "CF_AIG_TOKEN", byok: false, baseUrl: "https://gateway.ai.cloudflare.com/v1" });
  });

  it("refuses a malformed account id, gateway id or token env name, saying what each must be", () => {
    expect(issues({ openai: { via: via({ accountId: "acct-1" }) } })).toEqual([expect.stringContaining("openai.via.cloudflareAiGateway.accountId: must be a Cloudflare account id")]);
    expect(issues({ openai: { via: via({ gatewayId: "has/slash" }) } })).toEqual([expect.stringContaining("gatewayId: must be the AI Gateway's name")]);
    expect(issues({ openai: { via: via({ tokenEnv: "cfaig_real-token-value" }) } })).toEqual([expect.stringContaining("tokenEnv: must be an environment variable name")]);
    expect(issues({ openai: { via: { cloudflareAiGateway: { ...via().cloudflareAiGateway, token: "x" } } } })[0]).toContain("token");
  });

  it("refuses upstream next to via, BYOK where Cloudflare documents none (Bedrock, Vertex, Workers AI), and a key pool a BYOK route would never send", () => {
    expect(issues({ anthropic: { upstream: "https://api.anthropic.com", via: via() } })).toEqual([expect.stringContaining("anthropic.upstream: anthropic goes via Cloudflare AI Gateway")]);
    expect(issues({ bedrock: { region: "us-east-1", via: via({ byok: true }) } })).toEqual([expect.stringContaining("bedrock cannot use AI Gateway's stored keys")]);
    expect(issues({ vertex: { project: "my-project-1", via: via({ byok: true }) } })).toEqual([expect.stringContaining("vertex cannot use AI Gateway's stored keys")]);
    expect(issues({ compat: { via: via({ byok: true }) } })).toEqual([expect.stringContaining("compat cannot use AI Gateway's stored keys")]);
    expect(issues({ openai: { keys: [{ name: "a", env: "OPENAI_A" }], via: via({ byok: true }) } })).toEqual([expect.stringContaining("openai.keys: openai uses AI Gateway's stored key")]);
    expect(issues({ openai: { keys: [{ name: "a", env: "OPENAI_A" }], via: via({ byok: false }) } })).toEqual([]);
  });

  it("lets an org pin AI Gateway's cache and logging headers, never its token or metadata", () => {
    expect(issues({ anthropic: { via: via(), pinHeaders: { "cf-aig-cache-ttl": "3600", "cf-aig-collect-log": "false" } } })).toEqual([]);
    expect(issues({ anthropic: { via: via(), pinHeaders: { "cf-aig-authorization": "Bearer x" } } })).toEqual([expect.stringContaining("cf-aig-authorization and cf-aig-metadata are set by Gatehouse")]);
    expect(issues({ anthropic: { pinHeaders: { "cf-aig-metadata": '{"userId":"x"}' } } })).toEqual([expect.stringContaining("cf-aig-authorization and cf-aig-metadata are set by Gatehouse")]);
  });
});

describe("redaction by value", () => {
  it("counts the AI Gateway token among the secrets body capture redacts, next to the provider keys", () => {
    const config = orgConfigSchema.parse({ providers: { anthropic: { via: via() }, openai: { via: via({ byok: true, tokenEnv: "OTHER_AIG_TOKEN" }) } } });
    const secrets: Record<string, string> = { ANTHROPIC_API_KEY: "sk-ant-x", CF_AIG_TOKEN: "cfaig-token-1", OTHER_AIG_TOKEN: "cfaig-token-2" };
    expect([...configuredProviderKeys(config, { get: (name) => secrets[name] })].sort()).toEqual(["cfaig-token-1", "cfaig-token-2", "sk-ant-x"]);
  });
});

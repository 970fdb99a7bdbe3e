import { describe, expect, it } from "vitest";
import { RESERVED_COMPAT_UPSTREAM_NAMES } from "../providers/index.ts";
import { orgConfigSchema } from "./index.ts";

describe("providers.compat.upstreams config", () => {
  const parse = (providers: unknown) => orgConfigSchema.safeParse({ providers });
  it("accepts short lower-case names with an upstream each", () => {
    const parsed = parse({ compat: { upstreams: { vllm: { upstream: "http://127.0.0.1:8000/v1", apiKeyEnv: "VLLM_KEY", catalogProvider: "deepseek" }, "gpu-2": { upstream: "http://127.0.0.1:11434/v1" } } } });
    expect(parsed.success).toBe(true);
  });

  it("refuses other names, the route's own roots, a missing upstream, unknown fields, and upstreams on another provider", () => {
    for (const name of ["VLLM", "-x", "a_b", "a.b", "x".repeat(33), ...RESERVED_COMPAT_UPSTREAM_NAMES]) expect(parse({ compat: { upstreams: { [name]: { upstream: "http://127.0.0.1:1/v1" } } } }).success, name).toBe(false);
    expect(parse({ compat: { upstreams: { vllm: {} } } }).success).toBe(false);
    expect(parse({ compat: { upstreams: { vllm: { upstream: "http://127.0.0.1:1/v1", passThrough: [] } } } }).success).toBe(false);
    expect(parse({ openai: { upstreams: { vllm: { upstream: "http://127.0.0.1:1/v1" } } } }).success).toBe(false);
    const via = { cloudflareAiGateway: { accountId: "0123456789abcdef0123456789abcdef", gatewayId: "gw", tokenEnv: "CF_AIG_TOKEN" } };
    expect(parse({ compat: { passThrough: [{ method: "POST", path: "/tokenize" }], upstreams: { tokenize: { upstream: "http://127.0.0.1:1/v1" } } } }).success).toBe(false);
    expect(parse({ compat: { passThrough: [{ method: "POST", path: "/tokenize" }], upstreams: { vllm: { upstream: "http://127.0.0.1:1/v1" } } } }).success).toBe(true);
    expect(parse({ compat: { via } }).success).toBe(true);
    const both = parse({ compat: { via, upstreams: { vllm: { upstream: "http://127.0.0.1:1/v1" } } } });
    expect(both.error?.issues.map((i) => i.message)).toEqual([expect.stringContaining("cannot be combined with named compat upstreams")]);
    expect(RESERVED_COMPAT_UPSTREAM_NAMES).toEqual(expect.arrayContaining(["v1", "chat", "responses", "embeddings", "models"]));
  });
});

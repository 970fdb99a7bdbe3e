import { describe, expect, it } from "vitest";
import { orgConfigSchema } from "../config/index.ts";
import { compatGatewayModel, compatPathUpstream, RESERVED_COMPAT_UPSTREAM_NAMES, splitCompatModel } from "./compat-upstreams.ts";

const names = ["vllm", "ollama", "openrouter"];

describe("splitCompatModel", () => {
  it("splits at the first / when that segment is a configured name; the rest is the upstream's own id", () => {
    expect(splitCompatModel(names, "vllm/llama-3.3-70b")).toEqual({ upstream: "vllm", model: "llama-3.3-70b" });
    expect(splitCompatModel(names, "openrouter/meta-llama/llama-3.3-70b")).toEqual({ upstream: "openrouter", model: "meta-llama/llama-3.3-70b" });
    expect(splitCompatModel(names, "llama-3.3-70b")).toEqual({ upstream: undefined, model: "llama-3.3-70b" });
    expect(splitCompatModel(names, "@cf/meta/llama-3.1-8b")).toEqual({ upstream: undefined, model: "@cf/meta/llama-3.1-8b" });
  });

  it("refuses a name spelled another way, an empty name and an empty model", () => {
    for (const model of ["VLLM/x", "Vllm/x", " vllm/x", "%76llm/x", "vllm%20/x", "/x", "vllm/", "vllm/ "]) expect(() => splitCompatModel(names, model), model).toThrow();
  });
});

describe("compatPathUpstream", () => {
  const target = (path: string) => ({ path, forwardPath: path });
  it("takes a configured name out of the path; the route's own roots are the unnamed form", () => {
    expect(compatPathUpstream(names, [], target("/vllm/v1/chat/completions"))).toEqual({ upstream: "vllm", path: "/v1/chat/completions", forwardPath: "/v1/chat/completions" });
    expect(compatPathUpstream(names, [], target("/vllm"))).toEqual({ upstream: "vllm", path: "/", forwardPath: "/" });
    expect(compatPathUpstream(names, [], target("/v1/chat/completions")).upstream).toBeUndefined();
    expect(compatPathUpstream(names, [], target("/chat/completions")).upstream).toBeUndefined();
    expect(compatPathUpstream(names, ["tokenize"], target("/tokenize")).upstream).toBeUndefined();
  });

  it("refuses an unknown name with the configured ones, and another case with the right spelling", () => {
    expect(() => compatPathUpstream(names, [], target("/vllx/v1/chat/completions"))).toThrow(/configured names: vllm, ollama, openrouter/);
    expect(() => compatPathUpstream(names, [], target("/VLLM/v1/chat/completions"))).toThrow(/lower case: \/compat\/vllm\/v1/);
  });
});

describe("compatGatewayModel", () => {
  it("is <name>/<model> on the path form and the body's id otherwise", () => {
    expect(compatGatewayModel(names, "vllm", "llama")).toBe("vllm/llama");
    expect(compatGatewayModel(names, "openrouter", "meta-llama/llama")).toBe("openrouter/meta-llama/llama");
    expect(compatGatewayModel(names, undefined, "ollama/qwen3:8b")).toBe("ollama/qwen3:8b");
    expect(compatGatewayModel(names, "vllm", undefined)).toBeUndefined();
  });

  it("refuses a path name and a body name together, whether they agree or not", () => {
    for (const model of ["vllm/llama", "ollama/llama", "OLLAMA/llama"]) expect(() => compatGatewayModel(names, "ollama", model), model).toThrow(/on \/compat\/ollama\/v1/);
  });
});

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
    expect(RESERVED_COMPAT_UPSTREAM_NAMES).toEqual(expect.arrayContaining(["v1", "chat", "responses", "embeddings", "models"]));
  });
});

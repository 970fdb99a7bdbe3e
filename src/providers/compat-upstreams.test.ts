import { describe, expect, it } from "vitest";
import { compatGatewayModel, compatPathUpstream, splitCompatModel } from "./compat-upstreams.ts";

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

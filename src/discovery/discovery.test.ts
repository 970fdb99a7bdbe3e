import { describe, expect, it } from "vitest";
import { createApp } from "../core/app.ts";
import { GatewayError } from "../core/errors.ts";
import { systemClock } from "../core/clock.ts";
import type { AppDeps } from "../core/deps.ts";
import { silentLogger } from "../core/logger.ts";
import { parseSettings } from "../core/settings.ts";
import { compileConfigOrThrow, ConfigHolder, servedOpencodeConfigSchema } from "../config/index.ts";
import type { Kysely } from "kysely";
import type { Database } from "../store/index.ts";
import { createDiscoveryModule, type ModelLister } from "./index.ts";
import { buildWellKnown } from "./build.ts";

const YAML = `providers:
  anthropic:
    apiKeyEnv: ANTHROPIC_API_KEY
  openai:
    zeroDataRetention: true
    whitelist: [gpt-5, gpt-5-mini]
  compat:
    upstream: http://127.0.0.1:11434/v1
    models:
      llama: { name: Llama }
model: anthropic/claude-sonnet-4-5
instructions: ["{baseURL}/org/AGENTS.md"]
mcp:
  docs: { type: http, url: "https://mcp.example.com/mcp" }
`;

const catalog: ModelLister = {
  listModels: (id) =>
    id === "openai"
      ? [
          { id: "gpt-5", name: "GPT-5", limit: { context: 400000, output: 128000 } },
          { id: "gpt-5-mini", name: "GPT-5 mini" },
          { id: "o1-legacy", name: "old" },
        ]
      : id === "anthropic"
        ? [{ id: "claude-sonnet-4-5", name: "Claude Sonnet 4.5", limit: { context: 200000, output: 64000 } }]
        : [],
};

function app(env: Record<string, string> = {}) {
  const config = new ConfigHolder(compileConfigOrThrow([{ path: "gatehouse.yaml", text: YAML }]));
  const deps: AppDeps = {
    settings: parseSettings(env),
    logger: silentLogger,
    clock: systemClock,
    db: undefined as unknown as Kysely<Database>, // discovery never touches the store
    config,
    // Discovery serves its document without a caller: an authenticator that refuses everyone proves it.
    authenticator: { authenticate: () => Promise.reject(new GatewayError("unauthenticated", "discovery must not authenticate")) },
    secrets: { get: (name) => (name === "ANTHROPIC_API_KEY" ? "sk-ant-SECRET-never-served" : undefined) },
  };
  return { app: createApp(deps, [createDiscoveryModule({ catalog, cacheMs: 0 })]), config };
}

describe("/.well-known/opencode", () => {
  it("serves auth and a config OpenCode reads: providers back at the gateway, empty apiKey, token via {env:}", async () => {
    const res = await app().app.request("http://127.0.0.1:8787/.well-known/opencode");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { auth: { command: string[]; env: string }; config: Record<string, unknown> };
    expect(body.auth).toEqual({ command: ["gatehouse", "login", "http://127.0.0.1:8787"], env: "GATEHOUSE_TOKEN" });
    const config = servedOpencodeConfigSchema.parse(body.config);
    expect(config.provider["anthropic"]?.options).toEqual({ baseURL: "http://127.0.0.1:8787/anthropic/v1", apiKey: "", headers: { "cf-access-token": "{env:GATEHOUSE_TOKEN}" } });
    expect(config.provider["openai"]?.options.baseURL).toBe("http://127.0.0.1:8787/openai/v1");
    expect(config.provider["compat"]).toMatchObject({ npm: "@ai-sdk/openai-compatible", options: { baseURL: "http://127.0.0.1:8787/compat" }, models: { llama: { name: "Llama" } } });
    expect(config.instructions).toEqual(["http://127.0.0.1:8787/org/AGENTS.md"]);
    expect(config.mcp).toEqual({ gatehouse: { type: "remote", url: "http://127.0.0.1:8787/mcp", headers: { "cf-access-token": "{env:GATEHOUSE_TOKEN}" }, oauth: false } });
    expect(JSON.stringify(body)).not.toContain("sk-ant-SECRET");
    expect(JSON.stringify(body)).not.toContain("mcp.example.com");
  });

  it("lists catalog models (whitelisted) and marks OpenAI models store:false under zero data retention", async () => {
    const body = (await (await app().app.request("http://127.0.0.1/.well-known/opencode")).json()) as { config: { provider: Record<string, { models?: Record<string, { options?: { store?: boolean }; limit?: unknown }> }> } };
    const openai = body.config.provider["openai"]?.models ?? {};
    expect(Object.keys(openai).sort()).toEqual(["gpt-5", "gpt-5-mini"]);
    expect(openai["gpt-5"]).toEqual({ name: "GPT-5", limit: { context: 400000, output: 128000 }, options: { store: false } });
    expect(body.config.provider["anthropic"]?.models?.["claude-sonnet-4-5"]?.options).toBeUndefined();
  });

  it("uses the configured public URL (never the Host the request named), and a reloaded config shows on the next request", async () => {
    const { app: a, config } = app({ GATEHOUSE_AUTH_MODE: "oidc", GATEHOUSE_PUBLIC_URL: "https://ai.example.com/" });
    const first = (await (await a.request("http://10.0.0.5:8787/.well-known/opencode")).json()) as { auth: { command: string[] }; config: { model?: string } };
    expect(first.auth.command).toEqual(["gatehouse", "login", "https://ai.example.com"]);
    expect(first.config.model).toBe("anthropic/claude-sonnet-4-5");
    config.replace(compileConfigOrThrow([{ path: "gatehouse.yaml", text: YAML.replace("model: anthropic/claude-sonnet-4-5", "model: compat/llama") }]));
    const second = (await (await a.request("http://10.0.0.5:8787/.well-known/opencode")).json()) as { config: { model?: string } };
    expect(second.config.model).toBe("compat/llama");
  });
});

describe("provider names in the served config", () => {
  it("the org writes gateway ids (google-ai-studio/…); OpenCode gets its own (google/…) for the provider, default model, agents and commands", () => {
    const files = [
      { path: "gatehouse.yaml", text: "providers:\n  google-ai-studio: {}\nmodel: google-ai-studio/gemini-2.5-pro\nsmall_model: google-ai-studio/gemini-2.5-flash\n" },
      { path: "agents/g.md", text: "---\ndescription: g\nmodel: google-ai-studio/gemini-2.5-pro\n---\nHi" },
      { path: "commands/c.md", text: "---\ndescription: c\nmodel: google-ai-studio/gemini-2.5-flash\n---\nDo $ARGUMENTS" },
    ];
    const served = buildWellKnown(compileConfigOrThrow(files), { loginCommand: undefined, authMode: "dev", tokenEnv: "GATEHOUSE_TOKEN" }, "http://gw.test", catalog).config;
    expect(Object.keys(served.provider)).toEqual(["google"]);
    expect(served.provider["google"]?.options.baseURL).toBe("http://gw.test/google-ai-studio/v1beta");
    expect([served.model, served.small_model, served.agent?.["g"]?.model, served.command?.["c"]?.model]).toEqual(["google/gemini-2.5-pro", "google/gemini-2.5-flash", "google/gemini-2.5-pro", "google/gemini-2.5-flash"]);
  });
});

describe("cloud routes in the served config", () => {
  it("Bedrock's AWS region is served (what Claude Code's AWS_REGION takes); Vertex's project never is, nor any credential", () => {
    const files = [{ path: "gatehouse.yaml", text: "providers:\n  bedrock:\n    region: eu-central-1\n  vertex:\n    project: org-billing-project\n    location: europe-west1\n" }];
    const served = buildWellKnown(compileConfigOrThrow(files), { loginCommand: undefined, authMode: "dev", tokenEnv: "GATEHOUSE_TOKEN" }, "http://gw.test", catalog).config;
    expect(served.provider["amazon-bedrock"]?.options).toEqual({ baseURL: "http://gw.test/bedrock", apiKey: "gatehouse", headers: { "cf-access-token": "{env:GATEHOUSE_TOKEN}" }, region: "eu-central-1" });
    expect(served.provider["google-vertex"]?.options.region).toBeUndefined();
    expect(JSON.stringify(served)).not.toContain("org-billing-project");
  });
});

describe("named compat upstreams in the served config", () => {
  const serve = (yaml: string) => buildWellKnown(compileConfigOrThrow([{ path: "gatehouse.yaml", text: yaml }]), { loginCommand: undefined, authMode: "dev", tokenEnv: "GATEHOUSE_TOKEN" }, "http://gw.test", catalog).config;
  const upstreams = [
    "    upstreams:",
    "      gpt:",
    "        upstream: http://127.0.0.1:8000/v1",
    "        catalogProvider: openai",
    "        whitelist: [gpt-5]",
    "      box:",
    "        upstream: http://127.0.0.1:11434/v1",
    "        models: { qwen: { name: Qwen } }",
  ];

  it("one compat provider: each upstream's models (catalog within its whitelist, plus its own) as <name>/<model>, beside the default's", () => {
    const compat = serve(["providers:", "  compat:", "    upstream: http://127.0.0.1:9000/v1", "    models: { llama: { name: Llama } }", ...upstreams, ""].join("\n")).provider["compat"];
    expect(compat?.options.baseURL).toBe("http://gw.test/compat");
    expect(compat?.models).toEqual({ llama: { name: "Llama" }, "gpt/gpt-5": { name: "GPT-5", limit: { context: 400000, output: 128000 } }, "box/qwen": { name: "Qwen" } });
    // A named whitelist makes the served whitelist the ids served (the default's included).
    expect(compat?.whitelist?.sort()).toEqual(["box/qwen", "gpt/gpt-5", "llama"]);
  });

  it("without an unnamed default, only the named upstreams' models are served", () => {
    const compat = serve(["providers:", "  compat:", "    models: { llama: { name: Llama } }", ...upstreams, ""].join("\n")).provider["compat"];
    expect(Object.keys(compat?.models ?? {}).sort()).toEqual(["box/qwen", "gpt/gpt-5"]);
  });
});

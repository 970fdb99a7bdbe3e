import { describe, expect, it } from "vitest";
import { mergeClaudeCodeSettings } from "./claude-code.ts";
import { mergeCodexConfig, type CodexSetup } from "./codex.ts";
import { discoverySchema, gatewayRoutes } from "./discovery.ts";
import { mergeGeminiEnv, mergeGeminiSettings } from "./gemini-cli.ts";

const claude = { baseUrl: "https://gw.example.com/anthropic", apiKeyHelper: "gatehouse login --print-token https://gw.example.com", model: "claude-sonnet-4-5" };
const codex: CodexSetup = { gatewayUrl: "https://gw.example.com", baseUrl: "https://gw.example.com/openai/v1", authCommand: { command: "gatehouse", args: ["login", "--print-token", "https://gw.example.com"] }, model: "gpt-5" };

describe("discovery → client routes", () => {
  const doc = discoverySchema.parse({
    auth: { command: ["gatehouse", "login", "https://gw.example.com"], env: "GATEHOUSE_TOKEN" },
    config: {
      model: "openai/gpt-5",
      provider: {
        anthropic: { options: { baseURL: "https://gw.example.com/anthropic/v1", apiKey: "" }, models: { "claude-sonnet-4-5": {} }, whitelist: ["claude-sonnet-4-5"] },
        openai: { options: { baseURL: "https://gw.example.com/openai/v1", apiKey: "" }, models: { "gpt-5": {} } },
        google: { options: { baseURL: "https://gw.example.com/google-ai-studio/v1beta", apiKey: "" } },
        groq: { options: { baseURL: "https://gw.example.com/groq/v1" } },
      },
    },
  });
  it("gives each client the base URL its own variable wants and the org's default model when it is that provider's", () => {
    expect(gatewayRoutes(doc)).toEqual({
      anthropic: { baseUrl: "https://gw.example.com/anthropic", defaultModel: "claude-sonnet-4-5", models: ["claude-sonnet-4-5"] },
      openai: { baseUrl: "https://gw.example.com/openai/v1", defaultModel: "gpt-5", models: ["gpt-5"] },
      google: { baseUrl: "https://gw.example.com/google-ai-studio", defaultModel: undefined, models: [] },
    });
  });
  it("refuses a document that is not discovery", () => {
    expect(discoverySchema.safeParse({ providers: [] }).success).toBe(false);
    expect(discoverySchema.safeParse({ config: { provider: { openai: { options: { baseURL: "not a url" } } } } }).success).toBe(false);
  });
});

describe("Claude Code settings.json", () => {
  it("keeps the user's settings, sets apiKeyHelper and env.ANTHROPIC_BASE_URL, removes keys that would win over the helper; a re-run changes nothing", () => {
    const existing = JSON.stringify({ theme: "dark", permissions: { allow: ["Bash(ls)"] }, env: { FOO: "1", ANTHROPIC_API_KEY: "sk-ant-old" }, model: "opus" });
    const first = mergeClaudeCodeSettings(existing, claude);
    expect(JSON.parse(first.text)).toEqual({ theme: "dark", permissions: { allow: ["Bash(ls)"] }, env: { FOO: "1", ANTHROPIC_BASE_URL: claude.baseUrl }, model: "opus", apiKeyHelper: claude.apiKeyHelper });
    expect(first.removed.map((r) => r.name)).toEqual(["env.ANTHROPIC_API_KEY"]);
    const second = mergeClaudeCodeSettings(first.text, claude);
    expect(second).toEqual({ text: first.text, removed: [] });
  });
  it("starts from nothing, and sets the model only when the user has none", () => {
    expect(JSON.parse(mergeClaudeCodeSettings(undefined, claude).text)).toEqual({ apiKeyHelper: claude.apiKeyHelper, env: { ANTHROPIC_BASE_URL: claude.baseUrl }, model: "claude-sonnet-4-5" });
  });
  it("refuses a file it cannot merge into, instead of replacing it", () => {
    expect(() => mergeClaudeCodeSettings("{ not json", claude, "/h/.claude/settings.json")).toThrow(/\/h\/.claude\/settings.json is not valid JSON.*Nothing was changed/);
    expect(() => mergeClaudeCodeSettings("[1]", claude)).toThrow(/does not hold a JSON object/);
    expect(() => mergeClaudeCodeSettings(JSON.stringify({ env: "x" }), claude)).toThrow(/"env" is not an object/);
  });
});

describe("Codex config.toml", () => {
  const user = `# my codex config
model = "o3"
approval_policy = "on-request"

[model_providers.ollama]
name = "Ollama"
base_url = "http://localhost:11434/v1"

[mcp_servers.docs]
command = "docs-mcp"
args = [
  "--port", "1",
]
`;
  it("adds model_provider and the gatehouse table, keeps every other line, and a re-run changes nothing", () => {
    const first = mergeCodexConfig(user, codex);
    expect(first.startsWith(`# my codex config\nmodel = "o3"\napproval_policy = "on-request"\nmodel_provider = "gatehouse"\n\n[model_providers.ollama]`)).toBe(true);
    expect(first).toContain(`[mcp_servers.docs]\ncommand = "docs-mcp"\nargs = [\n  "--port", "1",\n]\n\n[model_providers.gatehouse]\n`);
    expect(first).toContain(`base_url = "https://gw.example.com/openai/v1"\nwire_api = "responses"\nsupports_websockets = true\n\n[model_providers.gatehouse.auth]\ncommand = "gatehouse"\nargs = ["login", "--print-token", "https://gw.example.com"]\n`);
    expect(first).not.toContain('model = "gpt-5"'); // the user's model stays
    expect(mergeCodexConfig(first, codex)).toBe(first);
  });
  it("replaces an earlier gatehouse table and model_provider in place, and sets the model only when there is none", () => {
    const old = `model_provider = "openai"\n\n[model_providers.gatehouse]\nbase_url = "https://old.example.com/openai/v1"\n\n[model_providers.gatehouse.auth]\ncommand = "old"\n\n[tui]\nnotifications = true\n`;
    const merged = mergeCodexConfig(old, codex);
    expect(merged).not.toContain("old.example.com");
    expect(merged).not.toContain('command = "old"');
    expect(merged.match(/\[model_providers\.gatehouse\]/g)).toHaveLength(1);
    expect(merged.startsWith(`model_provider = "gatehouse"\nmodel = "gpt-5"\n\n[tui]\nnotifications = true\n\n[model_providers.gatehouse]`)).toBe(true);
    expect(mergeCodexConfig(undefined, codex).startsWith(`model_provider = "gatehouse"\nmodel = "gpt-5"\n\n[model_providers.gatehouse]`)).toBe(true);
  });
  it("refuses a provider defined in a way it would have to guess at", () => {
    expect(() => mergeCodexConfig(`model_providers.gatehouse.base_url = "x"\n`, codex)).toThrow(/dotted keys.*Nothing was changed/);
    expect(() => mergeCodexConfig(`[model_providers]\ngatehouse = { base_url = "x" }\n`, codex)).toThrow(/inline under \[model_providers\]/);
  });
  it("escapes values as TOML basic strings", () => {
    const merged = mergeCodexConfig(undefined, { ...codex, authCommand: { command: 'C:\\Program Files\\node "x"', args: [] } });
    expect(merged).toContain(`command = "C:\\\\Program Files\\\\node \\"x\\""`);
  });
});

describe("Gemini CLI settings.json and .env", () => {
  it("selects the API-key auth type, keeps the rest, sets the model only when none; a re-run changes nothing", () => {
    const existing = JSON.stringify({ ui: { theme: "GitHub" }, security: { folderTrust: { enabled: true }, auth: { selectedType: "oauth-personal" } }, model: { name: "gemini-2.5-pro" } });
    const merged = mergeGeminiSettings(existing, "gemini-2.5-flash");
    expect(JSON.parse(merged)).toEqual({ ui: { theme: "GitHub" }, security: { folderTrust: { enabled: true }, auth: { selectedType: "gemini-api-key" } }, model: { name: "gemini-2.5-pro" } });
    expect(mergeGeminiSettings(merged, "gemini-2.5-flash")).toBe(merged);
    expect(JSON.parse(mergeGeminiSettings(undefined, "gemini-2.5-flash"))).toEqual({ security: { auth: { selectedType: "gemini-api-key" } }, model: { name: "gemini-2.5-flash" } });
  });
  it(".env: our two lines replaced in place (duplicates dropped), other lines kept; a re-run changes nothing", () => {
    const existing = `# mine\nDEBUG=1\nexport GEMINI_API_KEY=AIza-old\nGEMINI_API_KEY=dup\n`;
    const merged = mergeGeminiEnv(existing, { baseUrl: "https://gw.example.com/google-ai-studio", token: "tok.en.jwt" });
    expect(merged).toBe(`# mine\nDEBUG=1\nGEMINI_API_KEY="tok.en.jwt"\nGOOGLE_GEMINI_BASE_URL="https://gw.example.com/google-ai-studio"\n`);
    expect(mergeGeminiEnv(merged, { baseUrl: "https://gw.example.com/google-ai-studio", token: "tok.en.jwt" })).toBe(merged);
    expect(() => mergeGeminiEnv(undefined, { baseUrl: "x", token: 'a"\nB=1' })).toThrow(/newline or a quote/);
  });
});

import { describe, expect, it } from "vitest";
import { orgConfigSchema } from "../../config/index.ts";
import { parseSettings } from "../../core/settings.ts";
import { browsableUrl, providerStatuses, startupSummary } from "./startup-summary.ts";

const secretsOf = (values: Record<string, string>) => ({ get: (name: string) => values[name] });
const config = orgConfigSchema.parse({
  providers: {
    anthropic: { apiKeyEnv: "ANTHROPIC_API_KEY" },
    openai: { apiKeyEnv: "TEAM_OPENAI_KEY" },
    compat: { upstream: "http://127.0.0.1:11434/v1" },
  },
});

describe("startupSummary", () => {
  it("lists each provider with its key's variable found or missing, never the key", () => {
    const key = "sk-ant-this-is-the-real-key-0123456789";
    const text = startupSummary({ url: "http://127.0.0.1:8787", settings: parseSettings({}, { configDir: "org" }), config, secrets: secretsOf({ ANTHROPIC_API_KEY: key }) });
    expect(text).not.toContain(key);
    expect(text).toMatch(/anthropic .*\/anthropic → api\.anthropic\.com {2}key ANTHROPIC_API_KEY: found/);
    expect(text).toMatch(/openai .*key TEAM_OPENAI_KEY: MISSING/);
    expect(text).toMatch(/compat .*→ 127\.0\.0\.1:11434 {2}key COMPAT_API_KEY: not set \(optional\)/);
    expect(text).toContain("warning: openai: no key in TEAM_OPENAI_KEY; its requests get 503 until you put the key in the gateway's environment (TEAM_OPENAI_KEY=…) or in GATEHOUSE_SECRETS_FILE.");
    expect(text).not.toContain("warning: anthropic");
  });

  it("names the config directory, the store, the dashboard (with a token that opens it) and the well-known URL", () => {
    const text = startupSummary({ url: "http://127.0.0.1:8787", settings: parseSettings({}, { configDir: "examples/config", dataDir: "/var/lib/gh" }), config, secrets: secretsOf({}), devToken: "gh_dev_abcdefghijklmnopqrstuvwxyz" });
    expect(text).toContain("config     examples/config (3 providers, 0 agents, 0 commands, 0 MCP servers)");
    expect(text).toContain("store      SQLite /var/lib/gh/gatehouse.db");
    expect(text).toContain("dashboard  http://127.0.0.1:8787/dashboard  (for groups admin: the dev token, or gatehouse token issue --email you@example.com --group admin)");
    expect(text).toContain("OpenCode   http://127.0.0.1:8787/.well-known/opencode  (opencode auth login http://127.0.0.1:8787)");
    expect(text).toContain("catalog    bundled snapshot, refreshed from https://models.dev/api.json every 60 min");
    expect(text).toContain("gh_dev_abcdefghijklmnopqrstuvwxyz");
  });

  it("uses the configured dashboard admin group in the token hint", () => {
    const withPolicy = orgConfigSchema.parse({ providers: {}, policy: { dashboard: { adminGroups: ["platform"] } } });
    const text = startupSummary({ url: "http://127.0.0.1:8787", settings: parseSettings({}, { configDir: "org" }), config: withPolicy, secrets: secretsOf({}) });
    expect(text).toContain("--group platform");
  });

  it("without a config directory warns that no providers are configured and how to fix it", () => {
    const text = startupSummary({ url: "http://127.0.0.1:8787", settings: parseSettings({}), config: orgConfigSchema.parse({}), secrets: secretsOf({}) });
    expect(text).toContain("config     none (no --config, no GATEHOUSE_CONFIG)");
    expect(text).toContain("warning: No providers are configured: every model request is refused (503 not_configured). Start with a config directory: `gatehouse serve --config examples/config`");
  });

  it("a config with no providers is warned about too, naming the file", () => {
    const text = startupSummary({ url: "http://127.0.0.1:8787", settings: parseSettings({}, { configDir: "org" }), config: orgConfigSchema.parse({}), secrets: secretsOf({}) });
    expect(text).toContain("warning: org/gatehouse.yaml configures no providers");
  });

  it("never prints the PostgreSQL user or password", () => {
    const text = startupSummary({ url: "http://127.0.0.1:8787", settings: parseSettings({ DATABASE_URL: "postgres://gate:hunter2-secret@db.internal:5432/gatehouse" }), config, secrets: secretsOf({}) });
    expect(text).toContain("store      PostgreSQL db.internal:5432/gatehouse (DATABASE_URL)");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("gate:");
  });

  it("flags a compat provider with no upstream, with an example URL", () => {
    const statuses = providerStatuses(orgConfigSchema.parse({ providers: { compat: {} } }), secretsOf({}));
    expect(statuses).toEqual([{ id: "compat", route: "/compat", upstream: undefined, keyEnv: "COMPAT_API_KEY", key: "optional" }]);
    const text = startupSummary({ url: "http://127.0.0.1:8787", settings: parseSettings({}, { configDir: "org" }), config: orgConfigSchema.parse({ providers: { compat: {} } }), secrets: secretsOf({}) });
    expect(text).toContain("warning: compat: no upstream; set providers.compat.upstream to the server's base URL, e.g. http://127.0.0.1:11434/v1.");
  });

  it("shows links people can open: the public URL, or loopback for a wildcard bind", () => {
    expect(browsableUrl("http://0.0.0.0:8787", parseSettings({}))).toBe("http://127.0.0.1:8787");
    expect(browsableUrl("http://[::]:8787", parseSettings({}))).toBe("http://[::1]:8787");
    expect(browsableUrl("http://0.0.0.0:8787", parseSettings({ GATEHOUSE_PUBLIC_URL: "https://gw.example.com/" }))).toBe("https://gw.example.com");
  });
});

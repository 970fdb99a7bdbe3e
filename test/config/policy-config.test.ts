import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadOrgConfig } from "../../src/adapters/node/config-loader.ts";

function configDir(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-policy-config-"));
  writeFileSync(join(dir, "gatehouse.yaml"), yaml);
  return dir;
}

describe("policy config", () => {
  it("a malformed policy fails at start naming the file and the field", () => {
    const dir = configDir(["policy:", "  groups:", "    eng:", "      models: ['claude-*']", "      budget: { perUser: { dailyUsd: -5 } }", "  defaultGroup: nobody", ""].join("\n"));
    let message = "";
    try {
      loadOrgConfig(dir);
    } catch (err) {
      message = err instanceof Error ? err.message : String(err);
    }
    const file = join(dir, "gatehouse.yaml");
    expect(message).toContain(`${file}:4:16: policy.groups.eng.models.0: must be "provider/model"`);
    expect(message).toContain(`${file}:5:38: policy.groups.eng.budget.perUser.dailyUsd:`);
    expect(message).toContain(`${file}:6:17: policy.defaultGroup: names group "nobody"`);
  });

  it("rejects unknown keys and wildcard routing targets", () => {
    const dir = configDir(["policy:", "  groups: { eng: { modles: ['*/*'] } }", "  routing: { aliases: { default: ['anthropic/claude-*'] } }", ""].join("\n"));
    expect(() => loadOrgConfig(dir)).toThrow(/policy\.groups\.eng\.modles: unknown key "modles": did you mean "models"\?[\s\S]*policy\.routing\.aliases\.default\.0: must be "provider\/model" without wildcards/);
  });

  it("fills defaults for a minimal policy", () => {
    const config = loadOrgConfig(configDir("policy:\n  groups:\n    eng:\n      models: ['*/*']\n"));
    expect(config.policy).toMatchObject({
      estimate: { bytesPerToken: 1, defaultMaxOutputTokens: 4096 },
      circuitBreaker: { failureThreshold: 5, openSeconds: 30 },
      reconcileSeconds: 30,
      dashboard: { adminGroups: ["admin"], metricsPublic: false },
      groups: { eng: { models: ["*/*"], mcpServers: [] } },
    });
  });
});

// The reviewer against the real gateway (real proxy, auth, ledger on SQLite) in front of the
// scripted provider: every model call is authenticated, attributed and priced like any other use.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type RunningGateway } from "../../src/adapters/node/server.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { usageSummary } from "../../src/ledger/index.ts";
import { reviewConfigSchema } from "../../src/review/config.ts";
import { GatewayTransport } from "../../src/review/model/gateway.ts";
import { catalogPricer } from "../../src/review/pricing.ts";
import { runReview } from "../../src/review/run.ts";
import { FakeModelServer } from "./fake-model.ts";
import { clock } from "./harness.ts";
import { createRepo, type TestRepo } from "./repo.ts";
import { listen, type RunningServer } from "./serve.ts";

const providerKey = "sk-provider-key-never-leaves-the-gateway";
const clientToken = "gatehouse-dev-token-for-review-0001";

describe("review through the real gateway", () => {
  let upstream: RunningServer;
  let fake: FakeModelServer;
  let gateway: RunningGateway;
  let dir: string;
  let repo: TestRepo;

  beforeAll(async () => {
    fake = new FakeModelServer({
      token: providerKey,
      script: [
        {
          reviewer: "generalist",
          turns: [
            { toolCalls: [{ name: "read_file", input: { path: "src/port.ts" } }] },
            { findings: [{ id: "1", severity: "warning", path: "src/port.ts", line: 2, title: "parseInt accepts trailing garbage", evidence: "return parseInt(value);", suggestion: "Use Number()." }] },
          ],
        },
      ],
    });
    upstream = await listen(fake.app.fetch);
    dir = mkdtempSync(join(tmpdir(), "gatehouse-review-gw-"));
    writeFileSync(join(dir, "gatehouse.yaml"), `providers:\n  anthropic:\n    upstream: ${upstream.url}/anthropic\n  openai:\n    upstream: ${upstream.url}/openai\n`);
    const env = { ANTHROPIC_API_KEY: providerKey, OPENAI_API_KEY: providerKey, GATEHOUSE_DEV_TOKEN: clientToken };
    gateway = await startGateway({ settings: parseSettings(env, { configDir: dir, dataDir: join(dir, "data"), port: 0 }), env, logger: silentLogger, offline: true });
    repo = createRepo({ "src/port.ts": "export function parsePort(value: string): number {\n  return Number(value);\n}\n" }, { "src/port.ts": "export function parsePort(value: string): number {\n  return parseInt(value);\n}\n" });
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
    repo.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reviews with the client token only; the gateway injects the key and records the calls in the ledger", async () => {
    const config = reviewConfigSchema.parse({ gateway: { url: gateway.url }, models: { specialist: ["anthropic/claude-sonnet-4-5"], trivial: ["anthropic/claude-sonnet-4-5"] } });
    const result = await runReview({
      git: repo.git,
      base: "main",
      head: "feature",
      config,
      rules: [],
      transport: new GatewayTransport({ baseUrl: gateway.url, token: clientToken }),
      clock,
      pricer: catalogPricer(gateway.catalog, gateway.deps.config.current()),
    });
    expect(result.findings.map((f) => [f.path, f.line, f.severity])).toEqual([["src/port.ts", 2, "warning"]]);
    expect(fake.calls.map((c) => [c.route, c.status])).toEqual([
      ["anthropic", 200],
      ["anthropic", 200],
    ]);
    await gateway.ledger.flush();
    const rows = await usageSummary(gateway.deps.db, { groupBy: ["provider", "model"] });
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row?.requests).toBe(2);
    expect(row?.inputTokens).toBe(result.usage.total.inputTokens);
    expect(row?.outputTokens).toBe(result.usage.total.outputTokens);
    expect(result.usage.costUsd).toBeGreaterThan(0);
    expect(row?.costUsd).toBeCloseTo(result.usage.costUsd ?? 0, 9);
  });
});

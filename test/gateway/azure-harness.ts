import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSettings } from "../../src/core/settings.ts";
import { startGateway, type RunningGateway } from "../../src/adapters/node/server.ts";
import { FAKE_AZURE_DEPLOYMENTS } from "../fake-upstream/azure.ts";
import { startFakeUpstream } from "../fake-upstream/index.ts";
import type { FakeUpstream } from "../fake-upstream/types.ts";
import { capturingLogger, CLIENT_TOKEN } from "./harness.ts";

export interface AzureHarness {
  gateway: RunningGateway;
  fake: FakeUpstream;
  dir: string;
  /** Every log line the gateway wrote, as JSON text. */
  logs: string[];
  close(): Promise<void>;
}

/** The org's declared deployments: the fake's, except `unlisted`, left undeclared so a test can call a deployment the resource has and the gateway was not told of. */
export const DECLARED_DEPLOYMENTS: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(FAKE_AZURE_DEPLOYMENTS).filter(([name]) => name !== "unlisted"));

/**
 * A real gateway (real SQLite, node:http) whose azure-openai route points at the fake Azure
 * resource with its key in AZURE_OPENAI_API_KEY. `providerLines` replaces the route's default
 * settings (a key pool, other deployments); `env` (given the fake, for its key) goes on top of the default environment.
 */
export async function startAzureHarness(options: { providerLines?: readonly string[]; env?: (fake: FakeUpstream) => Record<string, string>; extraConfig?: readonly string[] } = {}): Promise<AzureHarness> {
  const fake = await startFakeUpstream();
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-azure-"));
  const deployments = Object.entries(DECLARED_DEPLOYMENTS).map(([name, model]) => `      ${name}: ${model}`);
  writeFileSync(join(dir, "gatehouse.yaml"), ["providers:", "  azure-openai:", `    upstream: ${fake.url}`, ...(options.providerLines ?? []), "    deployments:", ...deployments, ...(options.extraConfig ?? []), ""].join("\n"));
  const env: Record<string, string> = { AZURE_OPENAI_API_KEY: fake.keys.azure, GATEHOUSE_DEV_TOKEN: CLIENT_TOKEN, ...options.env?.(fake) };
  const settings = parseSettings(env, { configDir: dir, dataDir: join(dir, "data"), port: 0 });
  const logs: string[] = [];
  const gateway = await startGateway({ settings, env, logger: capturingLogger(logs), offline: true });
  return {
    gateway,
    fake,
    dir,
    logs,
    async close() {
      await gateway.close();
      await fake.close();
    },
  };
}

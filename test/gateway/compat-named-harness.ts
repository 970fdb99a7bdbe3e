import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { parseSettings } from "../../src/core/settings.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { compileConfigOrThrow } from "../../src/config/index.ts";
import { startGateway, type RunningGateway } from "../../src/adapters/node/server.ts";
import { startFakeUpstream } from "../fake-upstream/index.ts";
import type { FakeUpstream } from "../fake-upstream/types.ts";

/**
 * A real gateway in front of several instances of the wire-exact fake OpenAI server, one per
 * named compat upstream, each accepting only ITS key (any other key gets OpenAI's 401):
 * vllm (priced in the deepseek catalog), ollama (a pricing override), openrouter (model ids
 * with "/"), local (no key: keyOptional), broken (its key's env var unset), and the unnamed default.
 */
export const DEV_TOKEN = "gh_test_client_token_compat_named_01";
export const UPSTREAM_KEYS = { vllm: "vllm-fake-key-0001", ollama: "ollama-fake-key-0002", openrouter: "sk-or-fake-key-0003", default: "default-fake-key-0004" } as const;

export interface NamedHarness {
  gateway: RunningGateway;
  fakes: { vllm: FakeUpstream; ollama: FakeUpstream; openrouter: FakeUpstream; default: FakeUpstream };
  yaml: string;
  /** Replaces the served config with the base config plus `extra` YAML (a policy section). */
  withConfig(extra: string): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startNamedHarness(options: { withDefault?: boolean; policy?: string } = {}): Promise<NamedHarness> {
  const withDefault = options.withDefault ?? true;
  const fakes = {
    vllm: await startFakeUpstream({ keys: { openai: UPSTREAM_KEYS.vllm } }),
    ollama: await startFakeUpstream({ keys: { openai: UPSTREAM_KEYS.ollama } }),
    openrouter: await startFakeUpstream({ keys: { openai: UPSTREAM_KEYS.openrouter } }),
    default: await startFakeUpstream({ keys: { openai: UPSTREAM_KEYS.default } }),
  };
  const yaml = [
    "providers:",
    "  compat:",
    ...(withDefault ? [`    upstream: ${fakes.default.url}/v1`, "    apiKeyEnv: COMPAT_DEFAULT_KEY"] : []),
    "    passThrough: [{ method: POST, path: /v1/tokenize }]",
    "    upstreams:",
    "      vllm:",
    `        upstream: ${fakes.vllm.url}/v1`,
    "        apiKeyEnv: VLLM_API_KEY",
    "        catalogProvider: deepseek",
    "        models: { deepseek-chat: { name: DeepSeek V3 on our vLLM } }",
    "      ollama:",
    `        upstream: ${fakes.ollama.url}/v1`,
    "        keys: [{ name: main, env: OLLAMA_API_KEY }]",
    '        models: { "qwen3:8b": { name: Qwen3 8B (GPU box) } }',
    "        pinHeaders: { x-ollama-pool: gpu-1 }",
    "      openrouter:",
    `        upstream: ${fakes.openrouter.url}/v1`,
    "        keys: [{ name: main, env: OPENROUTER_API_KEY }]",
    "        catalogProvider: openrouter",
    "        whitelist: [aion-labs/aion-1.0-mini]",
    "      local:",
    `        upstream: ${fakes.ollama.url}/v1`,
    "      broken:",
    `        upstream: ${fakes.vllm.url}/v1`,
    "        apiKeyEnv: BROKEN_UPSTREAM_KEY_UNSET",
    "pricing:",
    '  "compat/ollama/qwen3:8b": { input: 0.1, output: 0.2 }',
    ...(options.policy ? [options.policy] : []),
    "",
  ].join("\n");
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-compat-named-"));
  writeFileSync(join(dir, "gatehouse.yaml"), yaml);
  const env = { COMPAT_DEFAULT_KEY: UPSTREAM_KEYS.default, VLLM_API_KEY: UPSTREAM_KEYS.vllm, OLLAMA_API_KEY: UPSTREAM_KEYS.ollama, OPENROUTER_API_KEY: UPSTREAM_KEYS.openrouter, GATEHOUSE_DEV_TOKEN: DEV_TOKEN };
  const settings = parseSettings(env, { configDir: dir, dataDir: join(dir, "data"), port: 0 });
  const gateway = await startGateway({ settings, env, logger: silentLogger, offline: true });
  return {
    gateway,
    fakes,
    yaml,
    withConfig(extra) {
      gateway.deps.config.replace(compileConfigOrThrow([{ path: "gatehouse.yaml", text: `${yaml}${extra}` }]));
    },
    reset() {
      for (const fake of Object.values(fakes)) fake.reset();
    },
    async close() {
      await gateway.close();
      for (const fake of Object.values(fakes)) await fake.close();
    },
  };
}

export async function namedLedgerRows(h: NamedHarness) {
  await h.gateway.ledger.flush();
  return h.gateway.deps.db.selectFrom("ledger").selectAll().orderBy("ts").execute();
}

/** The ledger row of one request, once written (waits up to 30 s, ends as soon as it is there). */
export async function namedRow(h: NamedHarness, requestId: string) {
  let found: Awaited<ReturnType<typeof namedLedgerRows>>[number] | undefined;
  await expect
    .poll(
      async () => {
        found = (await namedLedgerRows(h)).find((r) => r.request_id === requestId);
        return found !== undefined;
      },
      { timeout: 30_000 },
    )
    .toBe(true);
  return found as NonNullable<typeof found>;
}

/** Every request the fakes saw, with the fake that saw it. */
export function allRequests(h: NamedHarness) {
  return Object.entries(h.fakes).flatMap(([name, fake]) => fake.requests.map((request) => ({ fake: name, request })));
}

import { expect } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSettings } from "../../src/core/settings.ts";
import { silentLogger, type Logger } from "../../src/core/logger.ts";
import { startGateway, type GatewayOptions, type RunningGateway } from "../../src/adapters/node/server.ts";
import { startFakeUpstream } from "../fake-upstream/index.ts";
import type { FakeUpstream } from "../fake-upstream/types.ts";

export const CLIENT_TOKEN = "gh_test_client_token_0123456789";
export const KEYS = { anthropic: "sk-ant-fake-real-key-001", openai: "sk-openai-fake-real-key-002", google: "AIza-fake-real-key-003", groq: "gsk_fake-real-key-004" };

export interface Harness {
  gateway: RunningGateway;
  fake: FakeUpstream;
  dir: string;
  close(): Promise<void>;
}

/** A real gateway (real SQLite file, real node:http) in front of the wire-exact fake providers. */
export async function startHarness(overrides: Partial<GatewayOptions> = {}, settingsEnv: Record<string, string> = {}, extraConfig: readonly string[] = []): Promise<Harness> {
  const fake = await startFakeUpstream({ keys: KEYS });
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-test-"));
  writeFileSync(
    join(dir, "gatehouse.yaml"),
    [
      "providers:",
      "  anthropic:",
      `    upstream: ${fake.url}`,
      "  openai:",
      `    upstream: ${fake.url}/v1`,
      "  google-ai-studio:",
      `    upstream: ${fake.url}/v1beta`,
      "  compat:",
      `    upstream: ${fake.url}/v1`,
      "    apiKeyEnv: COMPAT_KEY",
      "    catalogProvider: cloudflare-workers-ai",
      "  groq:",
      `    upstream: ${fake.url}/openai/v1`,
      "pricing:",
      "  compat/local-llama: { input: 0.5, output: 1.5, cacheRead: 0.05 }",
      ...extraConfig,
      "",
    ].join("\n"),
  );
  const env = { ANTHROPIC_API_KEY: KEYS.anthropic, OPENAI_API_KEY: KEYS.openai, GEMINI_API_KEY: KEYS.google, COMPAT_KEY: KEYS.openai, GROQ_API_KEY: KEYS.groq, GATEHOUSE_DEV_TOKEN: CLIENT_TOKEN, ...settingsEnv };
  const settings = parseSettings(env, { configDir: dir, dataDir: join(dir, "data"), port: 0 });
  const gateway = await startGateway({ settings, env, logger: silentLogger, offline: true, ...overrides });
  return {
    gateway,
    fake,
    dir,
    async close() {
      await gateway.close();
      await fake.close();
    },
  };
}

/** models.dev prices from the bundled snapshot, read independently of the code under test. */
export function snapshotCost(provider: string, model: string): { input: number; output: number; cache_read?: number; cache_write?: number; reasoning?: number } {
  const data = JSON.parse(readFileSync(new URL("../../data/models-dev-api.json", import.meta.url), "utf8")) as Record<
    string,
    { models: Record<string, { cost: { input: number; output: number; cache_read?: number; cache_write?: number; reasoning?: number } }> }
  >;
  const entry = data[provider]?.models[model];
  if (!entry) throw new Error(`${provider}/${model} is not in the snapshot`);
  return entry.cost;
}

/** The anonymous id the dev token's email was given (random, stored once). */
export async function devCallerId(h: Harness): Promise<string> {
  const row = await h.gateway.deps.db.selectFrom("identities").select("id").where("email", "=", "dev@localhost").executeTakeFirstOrThrow();
  return row.id;
}

export async function ledgerRows(h: Harness) {
  await h.gateway.ledger.flush();
  return h.gateway.deps.db.selectFrom("ledger").selectAll().orderBy("ts").execute();
}

/** Reads a streamed response, recording when each chunk arrived. */
export async function readChunks(res: Response): Promise<{ text: string; arrivals: number[] }> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  const arrivals: number[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    arrivals.push(performance.now());
    text += decoder.decode(value, { stream: true });
  }
  return { text, arrivals };
}

/** The ledger row of one request, once the writer has flushed it (waits up to 30 s, ends as soon as it is there). */
export async function rowWhenWritten(h: Harness, requestId: string) {
  let found: Awaited<ReturnType<typeof ledgerRows>>[number] | undefined;
  await expect
    .poll(
      async () => {
        found = (await ledgerRows(h)).find((r) => r.request_id === requestId);
        return found !== undefined;
      },
      { timeout: 30_000 },
    )
    .toBe(true);
  return found as NonNullable<typeof found>;
}

/** A logger that keeps every line (level, fields, message) as JSON text, so a test can search them for secrets. */
export function capturingLogger(lines: string[]): Logger {
  const write =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push(JSON.stringify({ level, fields, message }, (_key, value: unknown) => (value instanceof Error ? { name: value.name, message: value.message, stack: value.stack, cause: value.cause } : value)));
    };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

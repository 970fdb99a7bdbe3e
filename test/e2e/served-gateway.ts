import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { startFakeUpstream } from "../fake-upstream/index.ts";
import type { FakeUpstream, RecordedRequest } from "../fake-upstream/types.ts";
import { createServer } from "node:http";
import { expect } from "vitest";
import type { AddressInfo } from "node:net";

export const ROOT = new URL("../..", import.meta.url).pathname;

/** A port nothing listens on right now (the kernel's pick, released at once). */
async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Provider keys only the gateway process has; a client, its files or its output must never show one. */
export const PROVIDER_KEYS = { anthropic: "sk-ant-clients-e2e-key-7f3a", openai: "sk-openai-clients-e2e-key-9c2b", google: "AIza-clients-e2e-key-4d1e" };
/** The dev-mode token callers present (GATEHOUSE_DEV_TOKEN). */
export const DEV_TOKEN = "gh-dev-token-clients-e2e-0123456789";
export const GATEHOUSE_BIN = join(ROOT, "bin/gatehouse.js");

export interface LedgerRow {
  request_id: string;
  provider: string;
  model: string;
  endpoint: string;
  streamed: number;
  status: number;
  outcome: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cost_usd: number;
  unpriced: number;
  error_code: string | null;
  /** The signed-in person the row is for (joined from identities by the anonymous caller id). */
  caller_email: string | null;
}

export interface ServedGateway {
  url: string;
  fake: FakeUpstream;
  dataDir: string;
  /** What `gatehouse serve` wrote on stderr so far. */
  output(): string;
  /**
   * Stops the gateway with SIGTERM (it finishes in-flight requests and flushes the ledger;
   * exit 0 means the store took every row), then reads every ledger row. No waiting on a
   * flush interval: the rows are final once the process has exited.
   */
  stopAndReadLedger(): Promise<LedgerRow[]>;
  close(): Promise<void>;
}

/** The org config: the three providers every coding client uses, pointed at the wire-exact fake; `extra` is more YAML under providers: (indented) and after it. */
function writeConfig(dir: string, fakeUrl: string, extra: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "gatehouse.yaml"),
    `providers:
  anthropic:
    upstream: ${fakeUrl}
  openai:
    upstream: ${fakeUrl}/v1
  google-ai-studio:
    upstream: ${fakeUrl}/v1beta
${extra}`,
  );
}

export interface ServedGatewayOptions {
  /** YAML appended to the config right after the three providers (more providers, indented two spaces, then top-level keys). */
  config?: string;
  /** More environment for `gatehouse serve` (cloud credentials the fake checks). */
  env?: Record<string, string>;
}

/**
 * A real `gatehouse serve` child process (dev auth with a fixed token, SQLite in a temp data
 * dir) in front of the wire-exact fake providers. Resolves once `/readyz` answers 200.
 */
export async function startServedGateway(fake?: FakeUpstream, options: ServedGatewayOptions | ((fake: FakeUpstream) => ServedGatewayOptions) = {}): Promise<ServedGateway> {
  const upstream = fake ?? (await startFakeUpstream({ keys: PROVIDER_KEYS }));
  const { config = "", env = {} } = typeof options === "function" ? options(upstream) : options;
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-clients-"));
  const configDir = join(dir, "config");
  const dataDir = join(dir, "data");
  writeConfig(configDir, upstream.url, config);
  const port = await freeLoopbackPort();
  const child = spawn(process.execPath, [GATEHOUSE_BIN, "serve", "--config", configDir, "--data-dir", dataDir, "--port", String(port)], {
    env: {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: dir,
      ANTHROPIC_API_KEY: PROVIDER_KEYS.anthropic,
      OPENAI_API_KEY: PROVIDER_KEYS.openai,
      GEMINI_API_KEY: PROVIDER_KEYS.google,
      GATEHOUSE_AUTH_MODE: "dev",
      GATEHOUSE_DEV_TOKEN: DEV_TOKEN,
      GATEHOUSE_CATALOG_REFRESH_MS: "0",
      GATEHOUSE_LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, child, () => output);
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  let stopped: Promise<[number | null, NodeJS.Signals | null]> | undefined;
  const stop = () => {
    if (!stopped) {
      child.kill("SIGTERM");
      stopped = exited;
    }
    return stopped;
  };
  return {
    url,
    fake: upstream,
    dataDir,
    output: () => output,
    async stopAndReadLedger() {
      const [code] = await stop();
      if (code !== 0) throw new Error(`gatehouse serve exited ${String(code)} (the store did not take every row?)\n${output}`);
      const db = new Database(join(dataDir, "gatehouse.db"), { readonly: true });
      try {
        return db.prepare("SELECT ledger.*, identities.email AS caller_email FROM ledger LEFT JOIN identities ON identities.id = ledger.caller_id ORDER BY ledger.ts, ledger.request_id").all() as LedgerRow[];
      } finally {
        db.close();
      }
    },
    async close() {
      await stop();
      if (!fake) await upstream.close();
    },
  };
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 45_000;
  let exitCode: number | null | undefined;
  child.once("exit", (code) => (exitCode = code));
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`gatehouse serve exited ${String(exitCode)} before it was ready:\n${output()}`);
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.status === 200) return;
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // connection refused: not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`gatehouse serve was not ready within 45 s:\n${output()}`);
}

/** The requests the fake answered as a model call (not the WebSocket handshake, which carries no response.create). */
export function modelRequests(requests: readonly RecordedRequest[]): RecordedRequest[] {
  return requests.filter((r) => r.method !== "GET");
}

export interface ClientRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a client binary with stdin closed; kills it (and fails) past the deadline. */
export function runClient(command: string, args: string[], options: { env: Record<string, string>; cwd: string; timeoutMs?: number }): Promise<ClientRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Math.round(performance.now() - started) });
    });
  });
}

/** A fresh HOME with a project folder holding one file the tool turn reads. */
export function clientHome(prefix: string, fileName: string, fileContent: string): { home: string; project: string; file: string } {
  const home = mkdtempSync(join(tmpdir(), `${prefix}-home-`));
  const project = join(home, "project");
  mkdirSync(project, { recursive: true });
  const file = join(project, fileName);
  writeFileSync(file, fileContent);
  return { home, project, file };
}

/** Every file under a directory (the client's HOME after its run), to check none holds a provider key. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) continue;
    if (stat.isDirectory()) out.push(...filesUnder(path));
    else if (stat.isFile() && stat.size < 20_000_000) out.push(path);
  }
  return out;
}

/** Asserts that no provider key shows in the client's output or in any file it wrote. */
export function providerKeysIn(texts: string[], home: string): string[] {
  const found: string[] = [];
  const keys = Object.values(PROVIDER_KEYS);
  for (const text of texts) for (const key of keys) if (text.includes(key)) found.push(`output contains ${key}`);
  for (const file of filesUnder(home)) {
    const content = readFileSync(file, "latin1");
    for (const key of keys) if (content.includes(key)) found.push(`${file} contains ${key}`);
  }
  return found;
}

/**
 * The ledger after a client's run: exactly one row per request the provider saw (no junk rows),
 * each completed with the fake's usage and priced exactly at the bundled snapshot's price.
 */
export function expectRowsExact(rows: readonly LedgerRow[], providerRequests: number, expected: { provider: string; model: string; endpoint: string }, usage: { input: number; output: number }, price: { input: number; output: number }): void {
  expect(rows, "one ledger row per request the provider saw, no junk rows").toHaveLength(providerRequests);
  for (const row of rows) {
    expect(row).toMatchObject({ ...expected, streamed: 1, status: 200, outcome: "completed", input_tokens: usage.input, output_tokens: usage.output, unpriced: 0 });
    expect(row.cost_usd).toBeCloseTo((usage.input * price.input + usage.output * price.output) / 1e6, 12);
  }
}

/**
 * Scale-out candidates for `npm run bench` (issue 5): two Gatehouse processes on one
 * PostgreSQL behind a TCP round-robin balancer, and the worker in workerd. Both answer on
 * the same path and token as the single-process row, against the same upstream.
 */
import { execFile, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadOrCreateSigningKey } from "../src/adapters/node/identity/index.ts";
import { startLocalWorker } from "../test/scale/workerd.ts";
import { BENCH_TOKEN, freePort, startGatehouse, type Started } from "./processes.ts";

const run = promisify(execFile);
const root = new URL("..", import.meta.url).pathname;
const pgScript = new URL("../.ci/postgres.sh", import.meta.url).pathname;

/** A private PostgreSQL cluster for the run (the Debian postgresql package must be installed). */
async function startPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-pg-"));
  chmodSync(dir, 0o755);
  const data = join(dir, "data");
  const port = await freePort();
  const { stdout } = await run("bash", [pgScript, "start", data, String(port)], { timeout: 90_000 });
  return {
    url: stdout.trim().split("\n").pop() ?? "",
    async stop() {
      await run("bash", [pgScript, "stop", data], { timeout: 60_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Layer-4 round robin, as a cloud load balancer would spread connections over instances. */
function startRoundRobin(ports: readonly number[]): Promise<net.Server> {
  let next = 0;
  const server = net.createServer((client) => {
    const port = ports[next++ % ports.length] as number;
    const upstream = net.connect(port, "127.0.0.1");
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.once("error", close);
    upstream.once("error", close);
    client.once("close", close);
    upstream.once("close", close);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/**
 * `gatehouse token issue` against the pair's store and shared key, as an operator would run
 * it: neither instance issued the token, and each must verify it.
 */
function issuePairToken(env: Record<string, string>): string {
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-bench-cli-"));
  const out = spawnSync(process.execPath, ["bin/gatehouse.js", "token", "issue", "--email", "bench@example.com", "--group", "bench", "--data-dir", dataDir], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  if (out.status !== 0) throw new Error(`token issue failed: ${out.stderr}`);
  return out.stdout.trim();
}

/**
 * Two `gatehouse serve` processes sharing one PostgreSQL and one signing key file
 * (GATEHOUSE_SIGNING_KEY_FILE), reached through the balancer. Requests carry a real
 * Gatehouse-signed ES256 token, verified by whichever instance the balancer picks.
 * The pid is the first instance's.
 */
export async function startPostgresPair(upstreamPort: number): Promise<Started & { token: string }> {
  const pg = await startPostgres();
  const keyDir = mkdtempSync(join(tmpdir(), "gatehouse-bench-key-"));
  const keyFile = join(keyDir, "signing-key.json");
  // Created once before the instances start, as it would be distributed to every machine.
  await loadOrCreateSigningKey({ signingKeyFile: keyFile, dataDir: keyDir });
  const env = { DATABASE_URL: pg.url, GATEHOUSE_SIGNING_KEY_FILE: keyFile };
  const a = await startGatehouse(upstreamPort, env);
  const b = await startGatehouse(upstreamPort, env);
  const token = issuePairToken(env);
  const balancer = await startRoundRobin([a.port, b.port]);
  const address = balancer.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    name: "2 instances, PostgreSQL",
    pid: a.pid,
    port,
    child: a.child,
    token,
    async stop() {
      await new Promise<void>((resolve) => balancer.close(() => resolve()));
      await Promise.all([a.stop(), b.stop()]);
      await pg.stop();
      rmSync(keyDir, { recursive: true, force: true });
    },
  };
}

/** The worker in workerd (Miniflare's `workerd serve` socket, not wrangler dev's proxy). No pid: memory columns stay empty. */
export async function startWorkerd(upstreamPort: number): Promise<{ url: string; stop(): Promise<void> }> {
  const worker = await startLocalWorker({
    GATEHOUSE_AUTH_MODE: "dev",
    GATEHOUSE_ALLOW_DEV_AUTH: "true",
    GATEHOUSE_DEV_TOKEN: BENCH_TOKEN,
    GATEHOUSE_LOG_LEVEL: "warn",
    GATEHOUSE_MAX_CONCURRENT_PER_CALLER: "100000",
    OPENAI_API_KEY: "sk-bench-upstream-key",
    GATEHOUSE_ORG_CONFIG: JSON.stringify({ providers: { openai: { upstream: `http://127.0.0.1:${upstreamPort}/v1`, apiKeyEnv: "OPENAI_API_KEY" } } }),
  });
  return { url: worker.url, stop: () => worker.close() };
}

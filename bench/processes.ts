import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
// A free TCP port on loopback (Portkey cannot be told to pick one): the tests' helper.
import { freePort } from "../test/scale/postgres.ts";

export { freePort };

export interface Started {
  name: string;
  pid: number;
  port: number;
  child: ChildProcess;
  /** Set for Gatehouse processes. */
  dataDir?: string;
  stop(): Promise<void>;
}

const root = new URL("..", import.meta.url).pathname;

/** Starts a child and waits for a line on stdout/stderr that `match` turns into a port. */
function startChild(name: string, command: string, args: string[], env: Record<string, string>, match: (line: string) => number | undefined, cwd = root): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 60 s`)), 60_000);
    const stop = () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
      });
    const onLine = (line: string) => {
      const port = match(line);
      if (port !== undefined) {
        clearTimeout(timer);
        resolve({ name, pid: child.pid as number, port, child, stop });
      }
    };
    if (child.stdout) createInterface({ input: child.stdout }).on("line", onLine);
    if (child.stderr) createInterface({ input: child.stderr }).on("line", onLine);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready`));
    });
  });
}

const portLine = (line: string) => (/^\d+$/.test(line.trim()) ? Number(line.trim()) : undefined);

export function startUpstream(): Promise<Started> {
  return startChild("upstream", process.execPath, ["--import", "tsx", "bench/upstream.ts", "0"], {}, portLine);
}

export function startBareProxy(upstreamPort: number): Promise<Started> {
  return startChild("bare proxy", process.execPath, ["--import", "tsx", "bench/bare-proxy.ts", "0", `http://127.0.0.1:${upstreamPort}`], {}, portLine);
}

export const BENCH_TOKEN = "gh_bench_token_0123456789abcdef";

/**
 * A real Gatehouse-signed token (ES256 JWT, like `gatehouse login` hands out), so the bench
 * pays for token verification on every request, not a static-string comparison.
 */
export function issueSignedToken(dataDir: string, checkout = root): string {
  const out = spawnSync(process.execPath, ["bin/gatehouse.js", "token", "issue", "--email", "bench@example.com", "--group", "bench", "--data-dir", dataDir], { cwd: checkout, encoding: "utf8" });
  if (out.status !== 0) throw new Error(`token issue failed: ${out.stderr}`);
  return out.stdout.trim();
}

/** `checkout`: another checkout's gateway (an older commit, for a before/after in one run). */
export async function startSignedGatehouse(upstreamPort: number, nodeFlags: readonly string[] = [], checkout = root): Promise<Started & { token: string }> {
  const started = await startGatehouse(upstreamPort, {}, nodeFlags, checkout);
  return { ...started, token: issueSignedToken(started.dataDir as string, checkout) };
}

/** `nodeFlags` go before the script (`--cpu-prof`, `--heapsnapshot-signal=…`): NODE_OPTIONS would reach the CLI's child processes too. */
export function startGatehouse(upstreamPort: number, extraEnv: Record<string, string> = {}, nodeFlags: readonly string[] = [], checkout = root): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-"));
  // Anthropic and Bedrock too, for the cloud-route rows (bench/cloud-routes.ts); unused by the other rows.
  writeFileSync(
    join(dir, "gatehouse.yaml"),
    `providers:\n  openai:\n    upstream: http://127.0.0.1:${upstreamPort}/v1\n    apiKeyEnv: OPENAI_API_KEY\n  anthropic:\n    upstream: http://127.0.0.1:${upstreamPort}\n  bedrock:\n    upstream: http://127.0.0.1:${upstreamPort}\n    region: us-east-1\n`,
  );
  return startChild(
    "gatehouse",
    process.execPath,
    [...nodeFlags, "bin/gatehouse.js", "serve", "--config", dir, "--port", "0", "--data-dir", join(dir, "data")],
    // One bench token stands in for many callers: lift the per-caller concurrency cap (default 64).
    {
      OPENAI_API_KEY: "sk-bench-upstream-key",
      ANTHROPIC_API_KEY: "sk-ant-bench-upstream-key",
      AWS_ACCESS_KEY_ID: "AKIABENCH0000000000",
      AWS_SECRET_ACCESS_KEY: "bench-secret-access-key",
      GATEHOUSE_DEV_TOKEN: BENCH_TOKEN,
      GATEHOUSE_LOG_LEVEL: "warn",
      GATEHOUSE_CATALOG_REFRESH_MS: "0",
      GATEHOUSE_MAX_CONCURRENT_PER_CALLER: "100000",
      ...extraEnv,
    },
    (line) => {
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      return m ? Number(m[1]) : undefined;
    },
    checkout,
  ).then((started) => ({ ...started, dataDir: join(dir, "data") }));
}

export async function startPortkey(): Promise<Started> {
  const port = await freePort();
  return startChild("portkey", process.execPath, ["node_modules/@portkey-ai/gateway/build/start-server.js", `--port=${port}`, "--headless"], {}, (line) => {
    const m = /(?:localhost|127\.0\.0\.1|0\.0\.0\.0):(\d+)/.exec(line);
    return m ? Number(m[1]) : undefined;
  });
}

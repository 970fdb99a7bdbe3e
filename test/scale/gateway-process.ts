import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { loadOrCreateSigningKey } from "../../src/adapters/node/identity/index.ts";

export const TOKEN = "gh_scale_client_token_0123456789";
export const KEYS = { anthropic: "sk-ant-scale-key-001", openai: "sk-openai-scale-key-002", google: "AIza-scale-key-003" };

const root = new URL("../..", import.meta.url).pathname;

/** One `node bin/gatehouse.js serve` process, as an operator would run it. */
export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote to stderr/stdout so far (for failure messages). */
  output(): string;
  /** Sends a signal and waits for the exit; resolves with the exit code (null when killed). */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

/** A config directory pointing every provider at the fake upstream, plus extra YAML (policy…). */
export function writeConfig(fakeUrl: string, extraYaml = ""): string {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-scale-"));
  writeFileSync(join(dir, "gatehouse.yaml"), ["providers:", "  anthropic:", `    upstream: ${fakeUrl}`, "  openai:", `    upstream: ${fakeUrl}/v1`, "  google-ai-studio:", `    upstream: ${fakeUrl}/v1beta`, extraYaml, ""].join("\n"));
  return dir;
}

export function startGatewayProcess(configDir: string, env: Record<string, string>, dataDir = mkdtempSync(join(tmpdir(), "gatehouse-scale-data-"))): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ["bin/gatehouse.js", "serve", "--config", configDir, "--port", "0", "--data-dir", dataDir], {
    cwd: root,
    env: {
      ...process.env,
      ANTHROPIC_API_KEY: KEYS.anthropic,
      OPENAI_API_KEY: KEYS.openai,
      GEMINI_API_KEY: KEYS.google,
      GATEHOUSE_DEV_TOKEN: TOKEN,
      GATEHOUSE_LOG_LEVEL: "warn",
      GATEHOUSE_CATALOG_REFRESH_MS: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in 60 s:\n${log}`)), 60_000);
    const onLine = (line: string) => {
      log += `${line}\n`;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve({
          url: m[1],
          child,
          output: () => log,
          async stop(signal) {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    };
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", onLine);
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", onLine);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before it was ready:\n${log}`));
    });
  });
}

export function chat(url: string, body: Record<string, unknown>, signal?: AbortSignal, token = TOKEN): Promise<Response> {
  return fetch(`${url}/openai/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

/**
 * The one signing key every instance of a deployment shares (GATEHOUSE_SIGNING_KEY_FILE),
 * created before any instance starts, as an operator would distribute it.
 */
export async function createSharedSigningKey(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-scale-key-"));
  const file = join(dir, "signing-key.json");
  await loadOrCreateSigningKey({ signingKeyFile: file, dataDir: dir });
  return file;
}

const execFileAsync = promisify(execFile);

/**
 * `gatehouse token issue` as an operator runs it against the deployment's store and key
 * (`env` carries DATABASE_URL and GATEHOUSE_SIGNING_KEY_FILE). Asynchronous, so a fake
 * upstream in this process keeps serving meanwhile.
 */
export async function issueToken(env: Record<string, string>, email: string, groups: readonly string[]): Promise<string> {
  const args = ["bin/gatehouse.js", "token", "issue", "--email", email, ...(groups.length > 0 ? ["--group", ...groups] : []), "--data-dir", mkdtempSync(join(tmpdir(), "gatehouse-scale-cli-"))];
  const { stdout } = await execFileAsync(process.execPath, args, { cwd: root, env: { ...process.env, GATEHOUSE_LOG_LEVEL: "warn", ...env }, timeout: 60_000 });
  const token = stdout.trim();
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) throw new Error("token issue printed no JWT");
  return token;
}

/** The claims of a JWT (no verification: for comparing `sub` with ledger rows in tests). */
export function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
}

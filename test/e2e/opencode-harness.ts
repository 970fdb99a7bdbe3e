import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Provider from "oidc-provider";
import { startGateway, type RunningGateway } from "../../src/adapters/node/server.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { startFakeUpstream } from "../fake-upstream/index.ts";
import type { FakeUpstream } from "../fake-upstream/types.ts";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const OPENCODE = join(ROOT, "node_modules/opencode-linux-x64/bin/opencode");
export const KEYS = { anthropic: "sk-ant-e2e-real-key-001", openai: "sk-openai-e2e-real-key-002", google: "AIza-e2e-real-key-003" };
/** The compat route points at the fake's OpenAI-compatible endpoint, which checks the OpenAI key. */
export const COMPAT_KEY = KEYS.openai;

/** A real OIDC identity provider (oidc-provider, real signing keys, dev login/consent pages). */
export interface TestIdp {
  url: string;
  attach(redirectUri: string): void;
  close(): Promise<void>;
}

export async function startIdp(): Promise<TestIdp> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server: Server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    attach(redirectUri) {
      const provider = new Provider(url, {
        clients: [{ client_id: "gatehouse", client_secret: "idp-client-secret-e2e", redirect_uris: [redirectUri], grant_types: ["authorization_code"], response_types: ["code"], token_endpoint_auth_method: "client_secret_basic" }],
        claims: { openid: ["sub"], email: ["email", "email_verified"], groups: ["groups"] },
        scopes: ["openid", "email", "groups"],
        features: { devInteractions: { enabled: true } },
        pkce: { required: () => true },
        async findAccount(_ctx, sub) {
          return { accountId: sub, claims: async () => ({ sub, email: sub, email_verified: true, groups: ["platform"] }) };
        },
      });
      provider.on("server_error", (_ctx, err) => process.stderr.write(`idp server_error: ${err.message}\n`));
      handler = provider.callback();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A port nothing listens on right now (the kernel's pick, released at once). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface E2eGateway {
  gateway: RunningGateway;
  fake: FakeUpstream;
  idp: TestIdp;
  dir: string;
  configDir: string;
  close(): Promise<void>;
}

/** Writes the config-as-code directory the gateway serves: four providers, an agent, a command. */
export function writeConfigDir(dir: string, fakeUrl: string): void {
  mkdirSync(join(dir, "agents"), { recursive: true });
  mkdirSync(join(dir, "commands"), { recursive: true });
  writeFileSync(
    join(dir, "gatehouse.yaml"),
    `providers:
  anthropic:
    upstream: ${fakeUrl}
  openai:
    upstream: ${fakeUrl}/v1
    zeroDataRetention: true
  google-ai-studio:
    upstream: ${fakeUrl}/v1beta
  compat:
    upstream: ${fakeUrl}/v1
    apiKeyEnv: COMPAT_KEY
    name: Local models
    models:
      local-llama:
        name: Local Llama
        limit: { context: 32768, output: 4096 }
pricing:
  compat/local-llama: { input: 0.5, output: 1.5 }
model: compat/local-llama
small_model: compat/local-llama
permission:
  bash: deny
  edit: deny
`,
  );
  writeFileSync(
    join(dir, "agents", "pirate.md"),
    `---
description: Answers like a pirate (e2e agent from the markdown config).
mode: primary
model: compat/local-llama
temperature: 0.2
---
You are PIRATE-AGENT-7. Always answer like a pirate.
`,
  );
  writeFileSync(
    join(dir, "commands", "haiku.md"),
    `---
description: Write a haiku about the argument (e2e command from the markdown config).
model: compat/local-llama
---
HAIKU-COMMAND-9: write a haiku about $ARGUMENTS
`,
  );
}

/** The real server composition (startGateway) with identity in oidc mode, discovery and the compiled config. */
export async function startE2eGateway(): Promise<E2eGateway> {
  const fake = await startFakeUpstream({ keys: KEYS });
  const idp = await startIdp();
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-e2e-"));
  const configDir = join(dir, "config");
  writeConfigDir(configDir, fake.url);
  const dataDir = join(dir, "data");
  const env = {
    ANTHROPIC_API_KEY: KEYS.anthropic,
    OPENAI_API_KEY: KEYS.openai,
    GEMINI_API_KEY: KEYS.google,
    COMPAT_KEY,
    GATEHOUSE_AUTH_MODE: "oidc",
    GATEHOUSE_OIDC_ISSUER: idp.url,
    GATEHOUSE_OIDC_CLIENT_ID: "gatehouse",
    GATEHOUSE_OIDC_CLIENT_SECRET: "idp-client-secret-e2e",
    GATEHOUSE_OIDC_SCOPES: "openid email groups",
    GATEHOUSE_LOGIN_COMMAND: JSON.stringify([process.execPath, join(ROOT, "bin/gatehouse.js"), "login", "{baseURL}"]),
    GATEHOUSE_LEDGER_FLUSH_MS: "50",
  };
  // oidc mode needs its public URL before it starts (never the request's Host): take a free port first.
  const port = await freeLoopbackPort();
  const settings = parseSettings({ ...env, GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}` }, { configDir, dataDir, port });
  // Exactly what `gatehouse serve` builds: oidc identity, login routes, discovery, the compiled config directory.
  const gateway = await startGateway({ settings, env, logger: silentLogger, offline: true });
  idp.attach(`${gateway.url}/auth/callback`);
  return {
    gateway,
    fake,
    idp,
    dir,
    configDir,
    async close() {
      await gateway.close();
      await fake.close();
      await idp.close();
    },
  };
}

/** Isolated, offline environment for the real OpenCode binary. */
export function opencodeEnv(home: string): Record<string, string> {
  return {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_DATA_HOME: join(home, ".local/share"),
    XDG_CACHE_HOME: join(home, ".cache"),
    XDG_STATE_HOME: join(home, ".local/state"),
    OPENCODE_DISABLE_AUTOUPDATE: "1",
    OPENCODE_DISABLE_MODELS_FETCH: "1",
    OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
    OPENCODE_DISABLE_SHARE: "1",
    npm_config_offline: "true",
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs opencode with stdin from /dev/null; `onStderr` sees output as it arrives. */
export function runOpencode(args: string[], env: Record<string, string>, cwd: string, onOutput?: (text: string) => void, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(OPENCODE, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`opencode ${args.join(" ")} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      onOutput?.(d.toString());
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      onOutput?.(d.toString());
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs `opencode run -m <model> "say hi"` in a fresh HOME whose project config is only the
 * providers a gateway served at /.well-known/opencode; the developer has only the gateway token
 * (OpenCode fills the served `{env:GATEHOUSE_TOKEN}` header from it). `out` is stdout and stderr.
 */
export async function runOpencodeWithServedProviders(provider: unknown, model: string, token: string, tmpPrefix: string, timeoutMs = 120_000): Promise<RunResult & { out: string }> {
  const home = mkdtempSync(join(tmpdir(), tmpPrefix));
  const project = join(home, "project");
  mkdirSync(project);
  writeFileSync(join(project, "opencode.json"), JSON.stringify({ $schema: "https://opencode.ai/config.json", provider }));
  const result = await runOpencode(["run", "-m", model, "say hi"], { ...opencodeEnv(home), GATEHOUSE_TOKEN: token }, project, undefined, timeoutMs);
  return { ...result, out: result.stdout + result.stderr };
}

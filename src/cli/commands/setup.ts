import { accessSync, chmodSync, constants, copyFileSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import type { Command } from "commander";
import { claudeCloudRoute, type ClaudeCloud } from "../../setup/claude-cloud.ts";
import { mergeClaudeCodeSettings, mismatchedModelSetting } from "../../setup/claude-code.ts";
import { mergeCodexConfig } from "../../setup/codex.ts";
import { discoverySchema, gatewayRoutes, type ClientRoute, type DiscoveryDocument, type GatewayRoutes } from "../../setup/discovery.ts";
import { mergeGeminiEnv, mergeGeminiSettings } from "../../setup/gemini-cli.ts";
import { cachedToken, gatewayKey } from "../token-cache.ts";
import { signIn } from "./login.ts";

interface SetupOptions {
  home?: string;
  helper?: string;
  timeout: string;
}

interface ClaudeCodeOptions extends SetupOptions {
  bedrock?: boolean;
  vertex?: boolean;
}

export function registerSetup(program: Command): void {
  const setup = program
    .command("setup")
    .description(
      "Point a coding client at a Gatehouse gateway by writing the client's own config file (merged into yours, the old file backed up; running it again changes nothing): claude-code, codex, gemini-cli. OpenCode needs none: `opencode auth login <url>`.",
    )
    .addHelpText(
      "after",
      `
Each reads the gateway's discovery (GET <url>/.well-known/opencode) for its route and the
org's default model, signs you in once if no valid token is kept (\`gatehouse login\`), and
never writes a provider key. Pages: docs/clients/.

Examples:
  gatehouse setup claude-code https://gateway.example.com
  gatehouse setup claude-code --bedrock https://gateway.example.com   (or --vertex)
  gatehouse setup codex https://gateway.example.com
  gatehouse setup gemini-cli https://gateway.example.com`,
    );
  const common = (command: Command) =>
    command
      .argument("<url>", "the gateway, e.g. https://gateway.example.com")
      .option("--home <dir>", "the home directory whose client config is written (default: $HOME)")
      .option("--helper <command>", "how the written config starts this CLI (default: `gatehouse` when it is on PATH, else this Node and this script by absolute path)")
      .option("--timeout <seconds>", "how long to wait for the sign-in when one is needed", "600");

  common(setup.command("claude-code"))
    .description(
      "Claude Code: ~/.claude/settings.json gets apiKeyHelper (`gatehouse login --print-token <url>`: a new sign-in is picked up without editing anything) and env.ANTHROPIC_BASE_URL; with --bedrock or --vertex, Claude Code's own Bedrock or Vertex AI mode through the gateway instead.",
    )
    .option("--bedrock", "Claude Code in its Amazon Bedrock mode, through the gateway's /bedrock route (the gateway signs with the org's AWS credentials)")
    .option("--vertex", "Claude Code in its Google Vertex AI mode, through the gateway's /vertex route (the gateway holds the org's service account)")
    .addHelpText(
      "after",
      `
Written: "apiKeyHelper" and "env": { "ANTHROPIC_BASE_URL": "<url>/anthropic" }; "model" when
you have none and the org names one. env.ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN are
removed from the file (they would win over the helper). An ANTHROPIC_API_KEY in your shell
also wins: unset it. Then run \`claude\` as usual.

--bedrock writes, instead of ANTHROPIC_BASE_URL: env CLAUDE_CODE_USE_BEDROCK=1,
ANTHROPIC_BEDROCK_BASE_URL=<url>/bedrock, CLAUDE_CODE_SKIP_BEDROCK_AUTH=1 and AWS_REGION (the
gateway's region, from its discovery); env.AWS_BEARER_TOKEN_BEDROCK is removed.
--vertex writes env CLAUDE_CODE_USE_VERTEX=1, ANTHROPIC_VERTEX_BASE_URL=<url>/vertex/v1,
CLAUDE_CODE_SKIP_VERTEX_AUTH=1, ANTHROPIC_VERTEX_PROJECT_ID=gatehouse (the gateway puts the
org's project in every path) and CLOUD_ML_REGION. Both write ANTHROPIC_MODEL and
ANTHROPIC_SMALL_FAST_MODEL in the cloud's spelling when the org names a Claude model of that
cloud (its default, or its whitelist). The token still comes from apiKeyHelper; no AWS or
Google credential is written, and you need none. Running it without the flag (or with the
other one) takes the previous mode's variables out again. Refused when the gateway does not
serve that cloud.

Examples:
  gatehouse setup claude-code http://127.0.0.1:8787
  gatehouse setup claude-code --bedrock https://gateway.example.com
  gatehouse setup claude-code --vertex https://gateway.example.com`,
    )
    .action(async (url: string, opts: ClaudeCodeOptions) => {
      if (opts.bedrock && opts.vertex) throw new Error("--bedrock and --vertex exclude each other: Claude Code uses one of them. Pick one.");
      const cloud: ClaudeCloud | undefined = opts.bedrock ? "bedrock" : opts.vertex ? "vertex" : undefined;
      const { document, routes, home } = await prepare(url, opts);
      const route = cloud === undefined ? need(routes.anthropic, "anthropic", url) : undefined;
      const cloudRoute = cloud === undefined ? undefined : needCloud(document, cloud, url);
      await ensureSignedIn(url, opts);
      const file = join(home, ".claude", "settings.json");
      const { text, removed } = mergeClaudeCodeSettings(readIfExists(file), { baseUrl: route?.baseUrl ?? "", apiKeyHelper: helperShellCommand(opts, url), model: route?.defaultModel, cloud: cloudRoute }, file);
      report(writeWithBackup(file, text));
      for (const { name, why } of removed) process.stderr.write(`Removed ${name} from ${file}: ${why}.\n`);
      const cloudName = cloud === "bedrock" ? "Bedrock" : "Vertex AI";
      const stale = mismatchedModelSetting(text, cloud);
      if (stale !== undefined) process.stderr.write(`${file} sets "model": "${stale}", which is not a ${cloudName} model id and the gateway names none to replace it: set it to one in ${cloudName}'s spelling, or to an alias such as "sonnet".\n`);
      else if (cloudRoute && cloudRoute.model === undefined) process.stderr.write(`The gateway names no Claude model on ${cloudName} for you: Claude Code uses its own default there (set ANTHROPIC_MODEL, or /model, to choose).\n`);
      warnAboutShell(cloud);
      process.stderr.write("Run `claude` as usual.\n");
    });

  common(setup.command("codex"))
    .description('Codex CLI: ~/.codex/config.toml gets model_provider = "gatehouse" and a [model_providers.gatehouse] table (base_url, wire_api = "responses", WebSockets on, an auth command that prints a fresh gateway token).')
    .addHelpText(
      "after",
      `
Written: model_provider = "gatehouse" (and model when you have none and the org names one)
at the top level; [model_providers.gatehouse] with base_url = "<url>/openai/v1",
wire_api = "responses", supports_websockets = true; [model_providers.gatehouse.auth] with
the command \`gatehouse login --print-token <url>\` (Codex reruns it every 5 minutes and after
a 401). An earlier [model_providers.gatehouse] table is replaced; the rest of the file stays
as it was. Then run \`codex\` as usual.

Example:
  gatehouse setup codex http://127.0.0.1:8787`,
    )
    .action(async (url: string, opts: SetupOptions) => {
      const { routes, home } = await prepare(url, opts);
      const route = need(routes.openai, "openai", url);
      await ensureSignedIn(url, opts);
      const file = join(home, ".codex", "config.toml");
      const helper = helperArgv(opts);
      const text = mergeCodexConfig(
        readIfExists(file),
        { gatewayUrl: gatewayKey(url), baseUrl: route.baseUrl, authCommand: { command: helper[0] as string, args: [...helper.slice(1), "login", "--print-token", gatewayKey(url)] }, model: route.defaultModel },
        file,
      );
      report(writeWithBackup(file, text));
      process.stderr.write("Run `codex` as usual.\n");
    });

  common(setup.command("gemini-cli"))
    .description('Gemini CLI: ~/.gemini/settings.json gets security.auth.selectedType = "gemini-api-key" (without it Gemini CLI 0.61 refuses to start) and ~/.gemini/.env the gateway URL and your gateway token.')
    .addHelpText(
      "after",
      `
Written: ~/.gemini/settings.json "security.auth.selectedType": "gemini-api-key" (and
"model.name" when you have none and the org names one); ~/.gemini/.env (mode 0600)
GOOGLE_GEMINI_BASE_URL="<url>/google-ai-studio" and GEMINI_API_KEY="<your gateway token>".
Gemini CLI has no key-helper command, so the token itself is written: when it expires,
run this command again. Gemini CLI reads ~/.gemini/.env only when the project has no .env
of its own (then put the two lines there, or export them). Then run \`gemini\` as usual.

Example:
  gatehouse setup gemini-cli http://127.0.0.1:8787`,
    )
    .action(async (url: string, opts: SetupOptions) => {
      const { routes, home } = await prepare(url, opts);
      const route = need(routes.google, "google-ai-studio", url);
      const token = await ensureSignedIn(url, opts);
      const settingsFile = join(home, ".gemini", "settings.json");
      report(writeWithBackup(settingsFile, mergeGeminiSettings(readIfExists(settingsFile), route.defaultModel, settingsFile)));
      const envFile = join(home, ".gemini", ".env");
      report(writeWithBackup(envFile, mergeGeminiEnv(readIfExists(envFile), { baseUrl: route.baseUrl, token }), 0o600));
      process.stderr.write("Run `gemini` as usual.\n");
    });
}

async function prepare(url: string, opts: SetupOptions): Promise<{ document: DiscoveryDocument; routes: GatewayRoutes; home: string }> {
  const home = opts.home ?? (process.env["HOME"] || homedir());
  const base = gatewayKey(url);
  let response: Response;
  try {
    response = await fetch(`${base}/.well-known/opencode`, { headers: { accept: "application/json" } });
  } catch (err) {
    throw new Error(`cannot reach ${base}: ${err instanceof Error ? err.message : String(err)}; check the URL and that the gateway runs`, { cause: err });
  }
  if (!response.ok) throw new Error(`${base}/.well-known/opencode answered HTTP ${response.status}: is ${base} a Gatehouse gateway (the URL without a provider path)?`);
  const parsed = discoverySchema.safeParse(await response.json());
  if (!parsed.success) throw new Error(`${base}/.well-known/opencode is not a Gatehouse discovery document; is ${base} a Gatehouse gateway?`);
  return { document: parsed.data, routes: gatewayRoutes(parsed.data), home };
}

function need(route: ClientRoute | undefined, provider: string, url: string): ClientRoute {
  if (!route) throw new Error(`${gatewayKey(url)} serves no ${provider} route; ask its admin to configure providers.${provider} in gatehouse.yaml`);
  return route;
}

function needCloud(document: DiscoveryDocument, cloud: ClaudeCloud, url: string) {
  const route = claudeCloudRoute(document, cloud, gatewayKey(url));
  if (!route) {
    const served = Object.keys(document.config.provider).join(", ") || "none";
    throw new Error(`${gatewayKey(url)} serves no ${cloud} route (it serves: ${served}); ask its admin to configure providers.${cloud} in gatehouse.yaml, or run \`gatehouse setup claude-code ${gatewayKey(url)}\` without --${cloud}.`);
  }
  return route;
}

/** Variables in the user's shell that Claude Code would prefer to what setup wrote. */
function warnAboutShell(cloud: ClaudeCloud | undefined): void {
  const env = process.env;
  if (env["ANTHROPIC_API_KEY"] || env["ANTHROPIC_AUTH_TOKEN"]) process.stderr.write("Your shell sets ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN, which Claude Code prefers to apiKeyHelper: unset it.\n");
  if (cloud === "bedrock" && env["AWS_BEARER_TOKEN_BEDROCK"]) process.stderr.write("Your shell sets AWS_BEARER_TOKEN_BEDROCK, which Claude Code would send instead of the gateway token: unset it.\n");
  const stray = [cloud !== "bedrock" ? "CLAUDE_CODE_USE_BEDROCK" : undefined, cloud !== "vertex" ? "CLAUDE_CODE_USE_VERTEX" : undefined].filter((name): name is string => name !== undefined && Boolean(env[name]));
  if (stray.length > 0) process.stderr.write(`Your shell sets ${stray.join(" and ")}, which switches Claude Code to another mode than this setup: unset it.\n`);
}

/** The kept token, or a sign-in now (link on stderr) when there is none: the client's helper must find one. */
async function ensureSignedIn(url: string, opts: SetupOptions): Promise<string> {
  const kept = cachedToken(url);
  if (kept) return kept.token;
  process.stderr.write(`No valid Gatehouse token for ${gatewayKey(url)} yet: signing in.\n`);
  return signIn(url, Number(opts.timeout));
}

/** argv that starts this CLI: `gatehouse` when PATH finds this very script, else this Node and this script by absolute path. */
function helperArgv(opts: SetupOptions): string[] {
  if (opts.helper) return opts.helper.split(/\s+/).filter(Boolean);
  const script = realpathSync(process.argv[1] ?? "");
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, "gatehouse");
    try {
      accessSync(candidate, constants.X_OK);
      if (realpathSync(candidate) === script) return ["gatehouse"];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" && (err as NodeJS.ErrnoException).code !== "EACCES") throw err;
    }
  }
  return [process.execPath, script];
}

/** Claude Code runs apiKeyHelper through a shell: each word single-quoted. */
function helperShellCommand(opts: SetupOptions, url: string): string {
  const quote = (word: string) => (/^[A-Za-z0-9_./:@=-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);
  return [...helperArgv(opts), "login", "--print-token", gatewayKey(url)].map(quote).join(" ");
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

interface WriteResult {
  file: string;
  changed: boolean;
  backup: string | undefined;
}

/** Writes only when the content changes; the previous file is copied to `<file>.bak-<time>` first. */
function writeWithBackup(file: string, text: string, mode?: number): WriteResult {
  const before = readIfExists(file);
  if (before === text) {
    if (mode !== undefined) chmodSync(file, mode);
    return { file, changed: false, backup: undefined };
  }
  mkdirSync(dirname(file), { recursive: true });
  let backup: string | undefined;
  if (before !== undefined) {
    backup = `${file}.bak-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    copyFileSync(file, backup);
    chmodSync(backup, statSync(file).mode & 0o777);
  }
  writeFileSync(file, text, mode !== undefined ? { mode } : {});
  if (mode !== undefined) chmodSync(file, mode);
  return { file, changed: true, backup };
}

function report(result: WriteResult): void {
  if (!result.changed) process.stderr.write(`${result.file} is already set up; nothing changed.\n`);
  else process.stderr.write(`Wrote ${result.file}${result.backup ? ` (the previous one is in ${result.backup})` : ""}.\n`);
}

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./served-gateway.ts";

/**
 * How each real client is started in the suite: its binary from node_modules (pinned in
 * package.json) and an isolated, offline environment — HOME and every config/temp dir inside
 * a temp folder, the clients' own update checks, telemetry and non-essential traffic off.
 * Only PATH is inherited, so nothing from the developer's shell (a real key, a real config)
 * can leak in.
 */
export const CLAUDE = join(ROOT, "node_modules/.bin/claude");
export const CODEX = join(ROOT, "node_modules/.bin/codex");
export const GEMINI = join(ROOT, "node_modules/@google/gemini-cli/bundle/gemini.js");

function baseEnv(home: string): Record<string, string> {
  const tmp = join(home, "tmp");
  mkdirSync(tmp, { recursive: true });
  return { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: home, TMPDIR: tmp, XDG_CONFIG_HOME: join(home, ".config"), XDG_CACHE_HOME: join(home, ".cache"), XDG_DATA_HOME: join(home, ".local/share"), NO_COLOR: "1" };
}

/** Claude Code; `extra` adds ANTHROPIC_BASE_URL / ANTHROPIC_API_KEY when no settings.json sets them. */
export function claudeEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...baseEnv(home),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_AUTOUPDATER: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_ERROR_REPORTING: "1",
    ...extra,
  };
}

/** Codex CLI: CODEX_HOME is ~/.codex (config.toml there); RUST_LOG=error keeps stderr to what the user sees. */
export function codexEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...baseEnv(home), CODEX_HOME: join(home, ".codex"), RUST_LOG: "error", ...extra };
}

/**
 * Gemini CLI: headless runs need the folder trusted (GEMINI_CLI_TRUST_WORKSPACE), else it
 * exits 55 before any request; its error reports go to TMPDIR, inside the temp HOME.
 */
export function geminiEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...baseEnv(home), GEMINI_CLI_TRUST_WORKSPACE: "true", ...extra };
}

/**
 * Codex settings that keep it offline besides the gateway: no update check, no analytics, no
 * curated-plugin sync (which otherwise tries github.com and chatgpt.com at every start).
 * Tests put them in config.toml as a user would, before anything else.
 */
export const CODEX_OFFLINE_TOP = `check_for_update_on_startup = false\n`;
export const CODEX_OFFLINE_TABLES = `[analytics]\nenabled = false\n\n[features]\nplugins = false\n`;

/** Gemini CLI settings that keep it offline besides the gateway: no auto-update or its check, no usage statistics. */
export const GEMINI_OFFLINE_SETTINGS = { general: { enableAutoUpdate: false, enableAutoUpdateNotification: false }, privacy: { usageStatisticsEnabled: false } };

/** What a client must never print when a stream breaks: a parser choking on half an event. */
export const HALF_EVENT_PARSE_ERROR = /SyntaxError|Unterminated string|Unexpected end of JSON|Could not parse message into JSON|is not valid JSON|Bad control character/i;

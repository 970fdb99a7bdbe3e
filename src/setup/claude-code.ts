import { formatJson, objectAt, parseSettingsObject } from "./json-file.ts";

export interface ClaudeCodeSetup {
  /** ANTHROPIC_BASE_URL: the gateway's /anthropic route (Claude Code appends /v1/messages). */
  baseUrl: string;
  /** The apiKeyHelper shell command: prints a fresh gateway token (`gatehouse login --print-token <url>`). */
  apiKeyHelper: string;
  /** Written only when the user's settings name no model. */
  model: string | undefined;
}

/**
 * Merges the gateway into Claude Code's `~/.claude/settings.json`: `apiKeyHelper` (Claude Code
 * runs it at start, every 5 minutes and after a 401, so a new sign-in is picked up without
 * editing anything) and `env.ANTHROPIC_BASE_URL`. Every other setting stays. A key in
 * `env.ANTHROPIC_API_KEY` / `env.ANTHROPIC_AUTH_TOKEN` would win over the helper, so it is
 * removed (the caller keeps a backup). Same input, same output: re-running changes nothing.
 */
export function mergeClaudeCodeSettings(existing: string | undefined, setup: ClaudeCodeSetup, file = "settings.json"): { text: string; removed: string[] } {
  const settings = parseSettingsObject(existing, file);
  settings["apiKeyHelper"] = setup.apiKeyHelper;
  // Claude Code's `env` block (variables it sets for itself), not this process's environment.
  const claudeVariables = objectAt(settings, "env", file);
  claudeVariables["ANTHROPIC_BASE_URL"] = setup.baseUrl;
  const removed: string[] = [];
  for (const name of ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"]) {
    if (name in claudeVariables) {
      delete claudeVariables[name];
      removed.push(`env.${name}`);
    }
  }
  if (setup.model !== undefined && settings["model"] === undefined) settings["model"] = setup.model;
  return { text: formatJson(settings), removed };
}

import { isCloudClaudeModel, type ClaudeCloud, type ClaudeCloudRoute } from "./claude-cloud.ts";
import { formatJson, objectAt, parseSettingsObject } from "./json-file.ts";

export interface ClaudeCodeSetup {
  /** ANTHROPIC_BASE_URL: the gateway's /anthropic route (Claude Code appends /v1/messages). Unused in a cloud mode. */
  baseUrl: string;
  /** The apiKeyHelper shell command: prints a fresh gateway token (`gatehouse login --print-token <url>`). */
  apiKeyHelper: string;
  /** Written only when the user's settings name no model (Anthropic mode). */
  model: string | undefined;
  /** Claude Code's own Bedrock or Vertex mode through the gateway instead of the Anthropic API. */
  cloud?: ClaudeCloudRoute | undefined;
}

/** A variable setup took out of `env`, and why (shown to the user). */
export interface RemovedVariable {
  name: string;
  why: string;
}

/**
 * The variables each mode writes (Claude Code's Amazon Bedrock, Google Vertex AI and LLM
 * gateway pages). Another mode's are removed, so switching modes leaves none behind.
 */
const CLOUD_VARIABLES: Record<ClaudeCloud, readonly string[]> = {
  bedrock: ["CLAUDE_CODE_USE_BEDROCK", "ANTHROPIC_BEDROCK_BASE_URL", "CLAUDE_CODE_SKIP_BEDROCK_AUTH", "AWS_REGION"],
  vertex: ["CLAUDE_CODE_USE_VERTEX", "ANTHROPIC_VERTEX_BASE_URL", "CLAUDE_CODE_SKIP_VERTEX_AUTH", "ANTHROPIC_VERTEX_PROJECT_ID", "CLOUD_ML_REGION"],
};
const MODEL_VARIABLES = ["ANTHROPIC_MODEL", "ANTHROPIC_SMALL_FAST_MODEL"] as const;
/** The gateway replaces the project in every Vertex path with the org's: Claude Code only needs a well-formed one. */
export const VERTEX_PROJECT_PLACEHOLDER = "gatehouse";

/**
 * Merges the gateway into Claude Code's `~/.claude/settings.json`: `apiKeyHelper` (Claude Code
 * runs it at start, every 5 minutes and after a 401, and sends what it prints as the bearer
 * token in every mode, Bedrock and Vertex included) and the `env` variables of the mode:
 * ANTHROPIC_BASE_URL, or Claude Code's Bedrock / Vertex variables with their auth skipped (the
 * gateway signs). Every other setting stays. A key in `env.ANTHROPIC_API_KEY` /
 * `env.ANTHROPIC_AUTH_TOKEN` (and, for Bedrock, `env.AWS_BEARER_TOKEN_BEDROCK`) would win over
 * the helper, so it is removed (the caller keeps a backup). No cloud credential or provider key
 * is ever written. Same input, same output: re-running changes nothing.
 */
export function mergeClaudeCodeSettings(existing: string | undefined, setup: ClaudeCodeSetup, file = "settings.json"): { text: string; removed: RemovedVariable[] } {
  const settings = parseSettingsObject(existing, file);
  settings["apiKeyHelper"] = setup.apiKeyHelper;
  // Claude Code's `env` block (variables it sets for itself), not this process's environment.
  const claudeVariables = objectAt(settings, "env", file);
  const removed: RemovedVariable[] = [];
  const remove = (name: string, why: string) => {
    if (!(name in claudeVariables)) return;
    delete claudeVariables[name];
    removed.push({ name: `env.${name}`, why });
  };
  for (const name of ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"]) remove(name, "the gateway token from apiKeyHelper replaces it");
  const cloud = setup.cloud;
  const mode = cloud?.cloud;
  for (const other of Object.keys(CLOUD_VARIABLES) as ClaudeCloud[]) {
    if (other === mode) continue;
    for (const name of CLOUD_VARIABLES[other]) remove(name, `it belongs to Claude Code's ${other === "bedrock" ? "Bedrock" : "Vertex"} mode, which this setup does not use`);
  }
  // A model in another mode's spelling would be sent where that id means nothing.
  for (const name of MODEL_VARIABLES) {
    const value = claudeVariables[name];
    if (typeof value !== "string") continue;
    const fits = mode === undefined ? !isCloudClaudeModel("bedrock", value) && !isCloudClaudeModel("vertex", value) : isCloudClaudeModel(mode, value);
    if (!fits) remove(name, mode === undefined ? "it names a Bedrock or Vertex model, which the Anthropic route does not know" : `it is not a model id in ${mode === "bedrock" ? "Bedrock" : "Vertex"}'s spelling`);
  }
  if (cloud === undefined) {
    claudeVariables["ANTHROPIC_BASE_URL"] = setup.baseUrl;
    if (setup.model !== undefined && settings["model"] === undefined) settings["model"] = setup.model;
    return { text: formatJson(settings), removed };
  }
  remove("ANTHROPIC_BASE_URL", "Claude Code's Anthropic-API mode is not used");
  if (cloud.cloud === "bedrock") {
    // Claude Code sends a Bedrock API key as the bearer token, instead of the gateway token.
    remove("AWS_BEARER_TOKEN_BEDROCK", "it would be sent instead of the gateway token (the gateway holds the AWS credentials)");
    Object.assign(claudeVariables, { CLAUDE_CODE_USE_BEDROCK: "1", ANTHROPIC_BEDROCK_BASE_URL: cloud.baseUrl, CLAUDE_CODE_SKIP_BEDROCK_AUTH: "1", AWS_REGION: cloud.region });
  } else {
    Object.assign(claudeVariables, {
      CLAUDE_CODE_USE_VERTEX: "1",
      ANTHROPIC_VERTEX_BASE_URL: cloud.baseUrl,
      CLAUDE_CODE_SKIP_VERTEX_AUTH: "1",
      ANTHROPIC_VERTEX_PROJECT_ID: VERTEX_PROJECT_PLACEHOLDER,
      CLOUD_ML_REGION: cloud.region,
    });
  }
  if (cloud.model !== undefined) claudeVariables["ANTHROPIC_MODEL"] = cloud.model;
  if (cloud.smallModel !== undefined) claudeVariables["ANTHROPIC_SMALL_FAST_MODEL"] = cloud.smallModel;
  return { text: formatJson(settings), removed };
}

/** Claude Code's model aliases: it resolves them to the mode's own ids. */
const MODEL_ALIASES = new Set(["default", "best", "sonnet", "opus", "haiku", "opusplan", "sonnet[1m]", "opus[1m]"]);

/**
 * The settings' top-level `model` when, in a cloud mode with no ANTHROPIC_MODEL written, it is
 * neither an alias nor in the cloud's spelling: Claude Code would ask the cloud for a model id
 * it does not know. It is the user's setting (or an earlier Anthropic-mode setup's), so it is
 * reported, not removed.
 */
export function mismatchedModelSetting(text: string, cloud: ClaudeCloud | undefined): string | undefined {
  if (cloud === undefined) return undefined;
  const settings = parseSettingsObject(text, "settings.json");
  const env = settings["env"] as Record<string, unknown> | undefined;
  const model = settings["model"];
  if (typeof env?.["ANTHROPIC_MODEL"] === "string" || typeof model !== "string") return undefined;
  return MODEL_ALIASES.has(model) || isCloudClaudeModel(cloud, model) ? undefined : model;
}

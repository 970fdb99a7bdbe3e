import { orgConfigSchema, providerIdSchema, type OrgConfig } from "../schema.ts";
import { agentSchema, commandSchema, type AgentConfig, type CommandConfig } from "../opencode-schema.ts";
import { opencodeProviderId } from "../provider-ids.ts";
import { ConfigCompileError, type ConfigIssue } from "./issues.ts";
import { compileMarkdown, type MarkdownEntry } from "./markdown.ts";
import { parseYamlSource, zodIssues, type YamlSource } from "./yaml-source.ts";

/** One file of a config directory, path relative to it with `/` separators. */
export interface SourceFile {
  path: string;
  text: string;
}

export const MAIN_FILES = ["gatehouse.yaml", "gatehouse.yml"] as const;
const AGENT_DIR = /^agents?\/(.+)\.md$/;
const COMMAND_DIR = /^commands?\/(.+)\.md$/;
/** OpenCode's built-in agents, which a command may name without defining them. */
const BUILTIN_AGENTS = new Set(["build", "plan", "general", "explore"]);

export interface CompileResult {
  config: OrgConfig | undefined;
  issues: ConfigIssue[];
}

/**
 * Compiles a config directory (already read into memory, so this runs on any runtime):
 * `gatehouse.yaml` for providers, models, pricing, permissions and MCP servers, plus
 * `agents/**.md` and `commands/**.md` with YAML frontmatter. Every problem is reported with
 * file, line and field; nothing is served unless there are none.
 */
export function compileConfig(files: readonly SourceFile[]): CompileResult {
  const issues: ConfigIssue[] = [];
  const main = files.filter((f) => (MAIN_FILES as readonly string[]).includes(f.path));
  if (main.length === 0) return { config: undefined, issues: [{ file: "gatehouse.yaml", line: 1, column: 1, field: "", message: "not found: a config directory needs a gatehouse.yaml" }] };
  if (main.length > 1) issues.push({ file: "gatehouse.yml", line: 1, column: 1, field: "", message: "both gatehouse.yaml and gatehouse.yml exist; keep one" });
  const mainFile = main[0] as SourceFile;
  const source = parseYamlSource(mainFile.path, mainFile.text);
  issues.push(...source.issues);
  const raw = source.value ?? {};
  if (source.issues.length === 0 && (typeof raw !== "object" || Array.isArray(raw))) {
    issues.push({ file: mainFile.path, line: 1, column: 1, field: "", message: "must be a YAML mapping (providers:, pricing:, …)" });
  }

  const agents: Record<string, AgentConfig> = {};
  const commands: Record<string, CommandConfig> = {};
  const origin = new Map<string, string>();
  const locators = new Map<string, NonNullable<MarkdownEntry<unknown>["locate"]>>();
  for (const file of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    const agentMatch = AGENT_DIR.exec(file.path);
    const commandMatch = COMMAND_DIR.exec(file.path);
    if (agentMatch?.[1]) {
      const entry = compileMarkdown(file.path, agentMatch[1], file.text, agentSchema, "prompt");
      issues.push(...entry.issues);
      if (entry.value) addUnique(agents, entry.name, entry.value, `agent:${entry.name}`, file.path, origin, issues);
      if (entry.value && entry.locate) locators.set(`agent:${entry.name}`, entry.locate);
    } else if (commandMatch?.[1]) {
      const entry = compileMarkdown(file.path, commandMatch[1], file.text, commandSchema, "template");
      issues.push(...entry.issues);
      if (entry.value) addUnique(commands, entry.name, entry.value, `command:${entry.name}`, file.path, origin, issues);
      if (entry.value && entry.locate) locators.set(`command:${entry.name}`, entry.locate);
    }
  }
  // Go on to check gatehouse.yaml even when a file above failed, so one run lists every
  // problem; the cross-checks wait for a clean set (a failed agent file is not "undefined").
  const earlierIssues = issues.length;
  if (source.issues.length > 0 || typeof raw !== "object" || raw === null || Array.isArray(raw)) return { config: undefined, issues };

  const rawObject = raw as Record<string, unknown>;
  for (const [kind, fromFiles] of [
    ["agent", agents],
    ["command", commands],
  ] as const) {
    const inline = rawObject[kind];
    if (inline && typeof inline === "object") {
      for (const name of Object.keys(inline)) {
        if (name in fromFiles) issues.push({ file: mainFile.path, ...source.locate([kind, name]), field: `${kind}.${name}`, message: `also defined in ${origin.get(`${kind}:${name}`)}; define it once` });
      }
    }
  }
  const merged = { ...rawObject, agent: { ...(rawObject["agent"] as object | undefined), ...agents }, command: { ...(rawObject["command"] as object | undefined), ...commands } };
  const parsed = orgConfigSchema.safeParse(merged);
  if (!parsed.success) {
    for (const issue of zodIssues(mainFile.path, source, parsed.error, orgConfigSchema)) {
      // Errors inside compiled markdown were reported above; anything left points at the YAML.
      issues.push(issue);
    }
    return { config: undefined, issues };
  }
  if (earlierIssues > 0) return { config: undefined, issues };
  issues.push(...crossCheck(parsed.data, mainFile.path, source, origin, locators));
  return issues.length ? { config: undefined, issues } : { config: parsed.data, issues };
}

/** Like compileConfig, but throws ConfigCompileError listing every issue. */
export function compileConfigOrThrow(files: readonly SourceFile[]): OrgConfig {
  const result = compileConfig(files);
  if (!result.config) throw new ConfigCompileError(result.issues);
  return result.config;
}

function addUnique<T>(target: Record<string, T>, name: string, value: T, key: string, file: string, origin: Map<string, string>, issues: ConfigIssue[]): void {
  const previous = origin.get(key);
  if (previous) {
    issues.push({ file, line: 1, column: 1, field: "", message: `${key.replace(":", " ")} is also defined in ${previous} (agents/ and agent/ are one namespace)` });
    return;
  }
  origin.set(key, file);
  target[name] = value;
}

/** References between parts: models must be on a served provider, commands must name a known agent. */
function crossCheck(config: OrgConfig, mainPath: string, source: YamlSource, origin: Map<string, string>, locators: Map<string, NonNullable<MarkdownEntry<unknown>["locate"]>>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  // Models are written with the gateway's provider ids, as in policy and pricing; discovery
  // hands OpenCode its own ids (google-ai-studio is "google" there).
  const served = new Set<string>(Object.keys(config.providers));
  const checkModel = (ref: string | undefined, where: () => Omit<ConfigIssue, "message">) => {
    if (!ref) return;
    const provider = ref.slice(0, ref.indexOf("/"));
    if (served.has(provider)) return;
    const namedByOpencode = providerIdSchema.options.find((id) => id !== provider && opencodeProviderId(id) === provider);
    if (namedByOpencode) {
      issues.push({ ...where(), message: `model "${ref}" uses OpenCode's name "${provider}"; write "${namedByOpencode}${ref.slice(provider.length)}" (the gateway's provider id, as in policy and pricing; OpenCode still gets "${provider}")` });
      return;
    }
    const gatewayId = (providerIdSchema.options as readonly string[]).includes(provider) ? provider : undefined;
    const fix = `${gatewayId ? `add providers.${gatewayId} to gatehouse.yaml, or ` : ""}use a model of a served provider, written provider/model`;
    issues.push({ ...where(), message: `model "${ref}" is on provider "${provider}", which this gateway does not serve (served: ${[...served].join(", ") || "none"}); ${fix}` });
  };
  const inYaml = (path: string[]) => () => ({ file: mainPath, ...source.locate(path), field: path.join(".") });
  const inFile = (key: string, field: string) => () => {
    const file = origin.get(key);
    // In an agents/ or commands/ file: the line of the field in its frontmatter.
    if (file) return { file, ...(locators.get(key)?.([field]) ?? { line: 1, column: 1 }), field };
    return { file: mainPath, ...source.locate([...key.split(":"), field]), field };
  };
  checkModel(config.model, inYaml(["model"]));
  checkModel(config.small_model, inYaml(["small_model"]));
  for (const [name, agent] of Object.entries(config.agent)) checkModel(agent.model, inFile(`agent:${name}`, "model"));
  for (const [name, command] of Object.entries(config.command)) {
    checkModel(command.model, inFile(`command:${name}`, "model"));
    if (command.agent && !(command.agent in config.agent) && !BUILTIN_AGENTS.has(command.agent)) {
      issues.push({ ...inFile(`command:${name}`, "agent")(), message: `agent "${command.agent}" is not defined (agents/${command.agent}.md) nor built in (${[...BUILTIN_AGENTS].join(", ")})` });
    }
  }
  return issues;
}

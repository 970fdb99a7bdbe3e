import type { CodexRule } from "../codex/index.ts";
import type { CatalogFacts } from "./catalog.ts";
import type { Detection } from "./detect.ts";

/** The sections of AGENTS.md, in order; the model writes one paragraph of prose under each. */
export const PROSE_SECTIONS = ["Repository", "How to navigate", "Conventions", "Boundaries", "Dependencies"] as const;
export type ProseSection = (typeof PROSE_SECTIONS)[number];
export type Prose = Record<ProseSection, string>;

/** Prose lines per section at most: the facts below each section are the substance, the prose introduces them. */
export const MAX_PROSE_LINES = 6;
const MAX_PROSE_CHARS = 900;
/** Enough for five short paragraphs; a model that needs more is rambling (its answer is cut and refused). */
export const PROSE_MAX_TOKENS = 1200;

export interface ProseRequest {
  system: string;
  user: string;
  maxTokens: number;
}

/** What a model call cost and how that was learnt: the gateway's ledger row, or its usage priced like the ledger prices it. */
export interface ProseCost {
  usd: number;
  /** ledger: the gateway's ledger row of the request; usage: the answer's usage priced with the gateway's pricer (no ledger row seen in time). */
  source: "ledger" | "usage";
  /** The model has no price (catalog or org overrides): `usd` is 0 and says nothing. */
  unpriced: boolean;
  /** The gateway's request id (`x-gatehouse-request-id`): the ledger row to look at. */
  requestId?: string;
}

export interface ProseAnswer {
  text: string;
  cost: ProseCost;
}

/**
 * A model that writes the prose (adapters/node/agents-md/gateway-prose.ts: a chat completion
 * through the gateway). `write` throws when there is no answer; `ProseCallError.cost` carries
 * what a failed call still cost.
 */
export interface ProseWriter {
  /** `compat/<model>`, `anthropic/<model>` …: written into the file's claims. */
  readonly model: string;
  write(request: ProseRequest, signal: AbortSignal): Promise<ProseAnswer>;
}

export class ProseCallError extends Error {
  override name = "ProseCallError";
  constructor(
    message: string,
    readonly cost?: ProseCost,
  ) {
    super(message);
  }
}

/** Words the prose may put in backticks or name as entities: exactly what detection and the catalog found. */
export function knownFacts(name: string, detection: Detection, facts: CatalogFacts | undefined, rules: readonly CodexRule[]): Set<string> {
  const known = new Set<string>([name, "AGENTS.md", "catalog-info.yaml", "catalog-info.yml", "gatehouse agents-md check", "gatehouse agents-md generate", "gatehouse review"]);
  const addPath = (path: string): void => {
    known.add(path);
    known.add(path.endsWith("/") ? path.slice(0, -1) : `${path}/`);
  };
  for (const command of detection.commands) {
    known.add(command.command);
    known.add(command.source);
    known.add(command.source.split("#")[0] ?? command.source);
  }
  for (const component of detection.components) {
    for (const command of component.commands) {
      known.add(command.command);
      known.add(command.source.split("#")[0] ?? command.source);
    }
    if (component.path !== ".") addPath(component.path);
    known.add(component.stack);
    known.add(component.packageManager);
    for (const workspace of component.workspaces) addPath(workspace);
  }
  for (const dir of [...detection.topDirs, ...detection.generatedDirs]) addPath(dir);
  for (const target of detection.makeTargets) known.add(`make ${target}`);
  for (const language of detection.languages) known.add(language.name);
  if (facts) for (const ref of [facts.ref, facts.owner, facts.system, ...facts.dependsOn, ...facts.dependedOnBy]) if (ref) known.add(ref);
  for (const rule of rules) known.add(rule.id);
  return known;
}

/** The prompt: the facts as JSON (the model rewrites none of them), the shape of the answer, what it must not do. */
export function prosePrompt(name: string, detection: Detection, facts: CatalogFacts | undefined, rules: readonly CodexRule[]): ProseRequest {
  const input = {
    repository: name,
    catalogEntity: facts ? { ref: facts.ref, owner: facts.owner ?? null, system: facts.system ?? null, inCatalogStore: facts.inStore } : null,
    languages: detection.languages.slice(0, 6).map((l) => l.name),
    stacks: detection.components.filter((c) => c.path === ".").map((c) => `${c.stack} with ${c.packageManager}`),
    commands: detection.commands.map((c) => ({ kind: c.kind, command: c.command })),
    topLevelDirectories: detection.topDirs,
    components: detection.components.filter((c) => c.path !== ".").map((c) => ({ path: c.path, stack: c.stack })),
    generatedDirectories: detection.generatedDirs,
    codexRules: rules.slice(0, 25).map((r) => ({ id: r.id, title: r.title })),
    dependsOn: facts?.dependsOn.slice(0, 25) ?? [],
    dependedOnBy: facts?.dependedOnBy.slice(0, 25) ?? [],
  };
  const system = [
    "You write the prose of an AGENTS.md file: guidance for coding agents working in one repository.",
    "Answer in Markdown with exactly these five level-2 headings, in this order, and nothing else:",
    ...PROSE_SECTIONS.map((s) => `## ${s}`),
    `Under each heading write 1 to 3 plain sentences (at most ${MAX_PROSE_LINES} lines): what the section means for an agent working here (Repository: what it is and who owns it; How to navigate: where things live; Conventions: what the rules ask for; Boundaries: what not to touch; Dependencies: what a change can break).`,
    "The file lists the exact commands, directories, owner, rules and dependencies below your prose, so do not list them again and invent none.",
    "When you name one, write it in backticks exactly as it appears in the facts. No code blocks, no tables, no other headings, no HTML, no links.",
  ].join("\n");
  return { system, user: `Facts about the repository (JSON):\n${JSON.stringify(input, null, 2)}`, maxTokens: PROSE_MAX_TOKENS };
}

/** Entity refs as the catalog writes them (`group:default/team-a`): naming one the facts do not hold is inventing an owner or a dependency. */
const ENTITY_REF = /\b(?:component|api|resource|system|domain|group|user|location|template):[a-z0-9][\w.-]*\/[\w.-]+/gi;

/**
 * The model's answer as the five prose paragraphs, or why it cannot be used. Refused (and
 * the template written instead): a missing, extra, renamed or reordered section; an empty
 * or overlong one; headings, code blocks or HTML comments inside (a forged claims block); links and URLs;
 * a backticked word or an entity ref that is not one of the facts (an invented command,
 * path, owner or dependency).
 */
export function parseProse(answer: string, known: ReadonlySet<string>): { prose: Prose } | { error: string } {
  let text = answer.replace(/^\s*<think>[\s\S]*?<\/think>/, "").trim();
  const fenced = /^```(?:markdown|md)?\n([\s\S]*)\n```$/.exec(text);
  if (fenced?.[1] !== undefined) text = fenced[1].trim();
  const lines = text.split(/\r?\n/);
  // A title line the model added above the sections is dropped; the file has its own.
  if (/^#\s/.test(lines[0] ?? "")) lines.shift();
  const bodies = new Map<string, string[]>();
  const order: string[] = [];
  let current: string[] | undefined;
  for (const line of lines) {
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      if (heading[1] !== "##") return { error: `the answer has a heading "${line.trim()}" other than the five sections` };
      const title = heading[2] ?? "";
      if (bodies.has(title)) return { error: `the section "${title}" appears twice` };
      order.push(title);
      current = [];
      bodies.set(title, current);
      continue;
    }
    if (!current) {
      if (line.trim() !== "") return { error: "the answer has text before its first section" };
      continue;
    }
    current.push(line);
  }
  if (order.join("|") !== PROSE_SECTIONS.join("|")) return { error: `the sections are ${order.length === 0 ? "missing" : order.map((s) => `"${s}"`).join(", ")}; expected ${PROSE_SECTIONS.map((s) => `"${s}"`).join(", ")} in that order` };
  const prose = {} as Prose;
  for (const section of PROSE_SECTIONS) {
    const body = (bodies.get(section) ?? []).join("\n").trim();
    if (body === "") return { error: `the section "${section}" is empty` };
    if (body.split("\n").length > MAX_PROSE_LINES || body.length > MAX_PROSE_CHARS) return { error: `the section "${section}" is longer than ${MAX_PROSE_LINES} lines or ${MAX_PROSE_CHARS} characters` };
    if (body.includes("```") || body.includes("<!--") || body.includes("-->") || /<\/?[a-z][^>]*>/i.test(body)) return { error: `the section "${section}" has a code block or HTML` };
    // A link or URL is an instruction source no fact vouches for (an agent told to read a page).
    if (/\]\(|\b[a-z][a-z0-9+.-]*:\/\//i.test(body)) return { error: `the section "${section}" has a link or URL` };
    for (const match of body.matchAll(/`([^`\n]+)`/g)) {
      const word = (match[1] ?? "").trim();
      if (!known.has(word)) return { error: `the section "${section}" names \`${word}\`, which is not among the facts detection and the catalog found` };
    }
    for (const match of body.replace(/`[^`\n]+`/g, "").matchAll(ENTITY_REF)) if (!known.has(match[0].toLowerCase())) return { error: `the section "${section}" names the entity ${match[0]}, which the catalog does not relate to this repository` };
    prose[section] = body;
  }
  return { prose };
}

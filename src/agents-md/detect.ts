import { parseAllDocuments } from "yaml";
import { languageOf } from "../codex/index.ts";
import { isGeneratedDir, type RepoSnapshot } from "./repo.ts";
import { componentsIn, makeTargets, type Component, type RepoCommand } from "./stacks.ts";

export interface CatalogInfo {
  /** `component:default/name`, lowercased as the catalog stores refs. */
  ref: string;
  owner?: string;
  system?: string;
  dependsOn: string[];
}

/** What the repository says about itself, read from its own files only: the same files give the same answer. */
export interface Detection {
  /** By file count, most first. */
  languages: { name: string; files: number }[];
  /** The root component first, then workspace members and nested manifests by path. */
  components: Component[];
  /** The commands to run at the root: the root manifest's, a Makefile's targets where the manifest has none of that kind. */
  commands: RepoCommand[];
  makeTargets: string[];
  /** Generated directories present in the repo. */
  generatedDirs: string[];
  /** Top-level directories that are not generated, for "how to navigate". */
  topDirs: string[];
  catalog?: CatalogInfo;
}

const MANIFESTS = new Set(["package.json", "pyproject.toml", "tox.ini", "setup.py", "requirements.txt", "go.mod", "Cargo.toml", "pom.xml", "build.gradle", "build.gradle.kts"]);
/** Not programming languages: config and prose are everywhere and say nothing about the stack. */
const NOT_CODE = new Set(["json", "yaml", "markdown"]);
const MAX_MANIFEST_DEPTH = 3;
const MAKE_KINDS: ReadonlyArray<RepoCommand["kind"]> = ["build", "test", "lint", "typecheck", "format"];

export function detectRepo(repo: RepoSnapshot): Detection {
  const counts = new Map<string, number>();
  for (const file of repo.files) {
    const language = languageOf(file);
    if (language && !NOT_CODE.has(language)) counts.set(language, (counts.get(language) ?? 0) + 1);
  }
  const languages = [...counts].map(([name, files]) => ({ name, files })).sort((a, b) => b.files - a.files || (a.name < b.name ? -1 : 1));

  const manifestDirs = new Set<string>();
  for (const file of repo.files) {
    const parts = file.split("/");
    const base = parts.pop() ?? "";
    if (!MANIFESTS.has(base) || parts.length > MAX_MANIFEST_DEPTH || parts.some(isGeneratedDir)) continue;
    manifestDirs.add(parts.length === 0 ? "." : parts.join("/"));
  }
  const dirs = [...manifestDirs].sort((a, b) => (a === "." ? -1 : b === "." ? 1 : a < b ? -1 : 1));
  const components = dirs.flatMap((dir) => componentsIn(repo, dir));

  const root = components.filter((c) => c.path === ".");
  const commands: RepoCommand[] = root.flatMap((c) => c.commands);
  const makefile = repo.read("Makefile");
  const targets = makefile === undefined ? [] : makeTargets(makefile);
  for (const kind of MAKE_KINDS) {
    if (targets.includes(kind) && !commands.some((c) => c.kind === kind)) commands.push({ kind, command: `make ${kind}`, source: `Makefile#${kind}` });
  }
  // A polyglot root keeps one command per kind per stack; list them in a stable order.
  commands.sort((a, b) => MAKE_KINDS.indexOf(a.kind) - MAKE_KINDS.indexOf(b.kind));

  const generatedDirs = repo.dirs.filter((d) => !d.includes("/") && isGeneratedDir(d)).sort();
  const topDirs = repo.dirs.filter((d) => !d.includes("/") && !isGeneratedDir(d) && !d.startsWith(".")).sort();
  const detection: Detection = { languages, components, commands, makeTargets: targets, generatedDirs, topDirs };
  const catalog = catalogInfo(repo);
  if (catalog) detection.catalog = catalog;
  return detection;
}

/** The Component in catalog-info.yaml (the first one when the file holds several documents). */
function catalogInfo(repo: RepoSnapshot): CatalogInfo | undefined {
  const text = repo.read("catalog-info.yaml") ?? repo.read("catalog-info.yml");
  if (text === undefined) return undefined;
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`catalog-info.yaml: ${doc.errors[0]?.message ?? "invalid YAML"}`);
    const value = doc.toJS() as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown }; spec?: { owner?: unknown; system?: unknown; dependsOn?: unknown } } | null;
    if (value === null || typeof value !== "object" || String(value.kind).toLowerCase() !== "component" || typeof value.metadata?.name !== "string") continue;
    const namespace = typeof value.metadata.namespace === "string" ? value.metadata.namespace : "default";
    const info: CatalogInfo = { ref: `component:${namespace}/${value.metadata.name}`.toLowerCase(), dependsOn: Array.isArray(value.spec?.dependsOn) ? value.spec.dependsOn.filter((d): d is string => typeof d === "string") : [] };
    if (typeof value.spec?.owner === "string") info.owner = value.spec.owner;
    if (typeof value.spec?.system === "string") info.system = value.spec.system;
    return info;
  }
  return undefined;
}

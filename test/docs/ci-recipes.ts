// Test support: what a docs recipe must not do when it installs or runs Gatehouse.
// `gatehouse` on the npm registry is an unrelated package, so a recipe has to fetch Gatehouse
// from its own repository at a pinned ref (a release tag or a full commit sha).
import { parseAllDocuments } from "yaml";
import type { CodeBlock } from "./markdown.ts";

/** A ref that names one release: vX.Y.Z[-pre] or a full 40-hex commit sha. Branches are not pins. */
export const pinnedRef = /^(?:[0-9a-f]{40}|v\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)$/;

// npx gatehouse, npx --yes gatehouse, npm exec gatehouse, pnpm dlx / yarn dlx / bunx gatehouse.
const runsRegistryPackage = /(?:\bnpx|\bnpm\s+exec|\bpnpm\s+dlx|\byarn\s+dlx|\bbunx)\s+(?:(?:-y|--yes|-q|--quiet|--)\s+)*gatehouse(?:@\S*)?(?=\s|$|["'`;)])/;
const installCommand = /\b(?:npm\s+(?:install|i|add)|yarn\s+(?:global\s+)?add|pnpm\s+add)\b([^\n;&|]*)/g;
// github:owner/gatehouse#ref, git+https://host/owner/gatehouse.git#ref, https://github.com/owner/gatehouse#ref
const gitSpec = /(?:github:|git\+\S+?:\/\/|https:\/\/github\.com\/)[\w.-]+\/gatehouse(?:\.git)?(?:#(\S+))?/;

function lineOf(code: string, index: number): number {
  return code.slice(0, index).split("\n").length;
}

function checkCommands(block: CodeBlock): string[] {
  const problems: string[] = [];
  const where = (index: number) => `${block.page}:${block.line + lineOf(block.code, index)}`;
  const npx = runsRegistryPackage.exec(block.code);
  if (npx) problems.push(`${where(npx.index)}: runs the npm registry's "gatehouse" (an unrelated package): ${npx[0].trim()}`);
  for (const match of block.code.matchAll(installCommand)) {
    const args = match[1] ?? "";
    const spec = gitSpec.exec(args);
    if (spec) {
      if (!spec[1] || !pinnedRef.test(spec[1])) problems.push(`${where(match.index)}: installs Gatehouse from git without a pinned ref (#vX.Y.Z or #<40-hex sha>): ${match[0].trim()}`);
      continue;
    }
    if (/(?:^|\s)gatehouse(?:@\S*)?(?=\s|$)/.test(args)) problems.push(`${where(match.index)}: installs the npm registry's "gatehouse" (an unrelated package): ${match[0].trim()}`);
  }
  for (const match of block.code.matchAll(/\bgit\s+clone\b([^\n;&|]*)/g)) {
    const args = match[1] ?? "";
    if (!/\/gatehouse(?:\.git)?(?=\s|$|")/.test(args)) continue;
    const branch = /(?:--branch(?:\s+|=)|-b\s+)("?)(\S+?)\1(?:\s|$)/.exec(args)?.[2];
    // A $VARIABLE is checked where it is set (GATEHOUSE_REF in a YAML recipe).
    if (branch?.startsWith("$")) continue;
    if (!branch || !pinnedRef.test(branch)) problems.push(`${where(match.index)}: clones Gatehouse without --branch <release tag>: ${match[0].trim()}`);
  }
  return problems;
}

type Yaml = Record<string, unknown>;
const isMap = (v: unknown): v is Yaml => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every value under a key named `name`, anywhere in the document. */
function valuesOf(node: unknown, name: string, into: unknown[] = []): unknown[] {
  if (Array.isArray(node)) for (const item of node) valuesOf(item, name, into);
  else if (isMap(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === name) into.push(value);
      valuesOf(value, name, into);
    }
  }
  return into;
}

/** Resolves `${{ env.X }}` (GitHub) and `$X` / `${X}` (GitLab, shell) against the document's variables. */
function resolveRef(ref: string, vars: ReadonlyMap<string, string>): string {
  const gh = /^\$\{\{\s*env\.(\w+)\s*\}\}$/.exec(ref.trim());
  const sh = /^"?\$\{?(\w+)\}?"?$/.exec(ref.trim());
  const name = gh?.[1] ?? sh?.[1];
  return name !== undefined ? (vars.get(name) ?? ref) : ref;
}

function checkYaml(block: CodeBlock): string[] {
  const problems: string[] = [];
  const at = `${block.page}:${block.line}`;
  const docs = parseAllDocuments(block.code);
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      problems.push(`${at}: YAML does not parse: ${doc.errors[0]?.message ?? ""}`);
      continue;
    }
    const root: unknown = doc.toJS();
    const vars = new Map<string, string>();
    for (const key of ["env", "variables"]) {
      for (const section of valuesOf(root, key)) {
        if (isMap(section)) for (const [k, v] of Object.entries(section)) if (typeof v === "string" || typeof v === "number") vars.set(k, String(v));
      }
    }
    const ref = vars.get("GATEHOUSE_REF");
    if (ref !== undefined && !pinnedRef.test(ref)) problems.push(`${at}: GATEHOUSE_REF "${ref}" is not a pinned ref (vX.Y.Z or a 40-hex sha)`);

    // actions/checkout of a Gatehouse repository must name a pinned ref.
    let pinnedCheckout = false;
    for (const steps of valuesOf(root, "steps")) {
      if (!Array.isArray(steps)) continue;
      for (const step of steps) {
        if (!isMap(step) || typeof step["uses"] !== "string" || !step["uses"].startsWith("actions/checkout@")) continue;
        const withs = isMap(step["with"]) ? step["with"] : {};
        const repository = typeof withs["repository"] === "string" ? withs["repository"] : undefined;
        if (!repository || !/\/gatehouse$/.test(repository)) continue;
        const stepRef = typeof withs["ref"] === "string" ? resolveRef(withs["ref"], vars) : undefined;
        if (stepRef === undefined || !pinnedRef.test(stepRef)) problems.push(`${at}: checks out ${repository} without a pinned ref (got ${stepRef ?? "none"})`);
        else pinnedCheckout = true;
      }
    }
    // A job that runs `gatehouse review` must get Gatehouse from a pinned source in the same file.
    const commands = [...valuesOf(root, "run"), ...valuesOf(root, "script")].flatMap((v) => (Array.isArray(v) ? v : [v])).filter((v): v is string => typeof v === "string");
    const runsReview = commands.some((c) => /gatehouse(?:\.js)?\s+review\b/.test(c));
    const pinnedFetch = ref !== undefined && pinnedRef.test(ref) && commands.some((c) => /\bgit\b[^\n]*\b(?:fetch|clone)\b[^\n]*\$\{?GATEHOUSE_REF\b/.test(c));
    const pinnedSpec = commands.some((c) => {
      const spec = gitSpec.exec(c);
      return spec?.[1] !== undefined && pinnedRef.test(spec[1]);
    });
    if (runsReview && !pinnedCheckout && !pinnedFetch && !pinnedSpec) problems.push(`${at}: runs gatehouse review without installing Gatehouse from its repository at a pinned ref`);
  }
  return problems;
}

/** Problems of one code block; empty when it installs and runs Gatehouse only from a pinned source of ours. */
export function recipeProblems(block: CodeBlock): string[] {
  const problems = checkCommands(block);
  if (block.lang === "yaml" || block.lang === "yml") problems.push(...checkYaml(block));
  return problems;
}

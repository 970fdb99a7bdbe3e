// The layering table of docs/architecture.md, read as data: which folder is a layer and what it
// may import. The lint rule (eslint-plugin.ts) and the import-graph page section (import-graph.ts)
// both read the table from the page at run time, so the page, the rule and the picture cannot drift.
//
// Grammar of the "may import" cell (anything else is an error, so a typo cannot open a boundary):
//   —  |  nothing                     no folder of ours
//   everything                         any layer
//   name [(note)], name [(note)], …    name = a layer's folder without `src/` (`core`, `adapters/node`)
//                                      or a prefix naming several (`adapters`);
//                                      note starting with "types" = `import type` only, any other
//                                      note is a reason and allows value imports.
//   … — remark                         after a spaced dash outside parentheses: prose, ignored.
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** Repository-relative, `/`-separated. */
export const repoPath = (file: string, root: string = repoRoot): string => relative(root, file).split(sep).join("/");

export const ARCHITECTURE_PAGE = join(repoRoot, "docs", "architecture.md");

/** One entry of a "may import" cell: a layer, and whether only `import type` of it is allowed. */
export interface Allowance {
  layer: string;
  typesOnly: boolean;
}

/** One folder of the table (a row naming several folders gives one Layer each). */
export interface Layer {
  folder: string;
  /** The folder without `src/`, as the "may import" cells name it. */
  name: string;
  /** 1-based line of the row in the page, for messages. */
  line: number;
  everything: boolean;
  allows: Allowance[];
}

/** Splits on commas outside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "(") depth += 1;
    if (ch === ")") depth -= 1;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

/** A cell may end with a remark after a spaced dash outside parentheses (`a, b — never c`): prose, not part of the list. */
function withoutRemark(cell: string): string {
  let depth = 0;
  for (let i = 0; i < cell.length; i += 1) {
    const ch = cell[i];
    if (ch === "(") depth += 1;
    else if (ch === ")") depth -= 1;
    else if (depth === 0 && i > 0 && cell.startsWith(" — ", i - 1)) return cell.slice(0, i - 1).trim();
  }
  return cell;
}

/** The cells of one `| a | b |` row (a `|` inside backticks does not split). */
function cells(line: string): string[] {
  const inner = line.trim().replace(/^\|/, "").replace(/\|$/, "");
  const out: string[] = [];
  let current = "";
  let code = false;
  for (const ch of inner) {
    if (ch === "`") code = !code;
    if (ch === "|" && !code) {
      out.push(current.trim());
      current = "";
    } else current += ch;
  }
  out.push(current.trim());
  return out;
}

/** `src/core` → `core`; `test/fake-upstream` stays as it is. */
const shortName = (folder: string): string => (folder.startsWith("src/") ? folder.slice(4) : folder);

/** Parses the table under the "## Layers" heading of the page text. */
export function parseLayerTable(page: string): Layer[] {
  const lines = page.split("\n");
  const heading = lines.findIndex((l) => /^##\s+Layers\s*$/.test(l));
  if (heading === -1) throw new Error("docs/architecture.md: no '## Layers' heading");
  let start = heading + 1;
  while (start < lines.length && !lines[start]?.trim().startsWith("|")) start += 1;
  const header = cells(lines[start] ?? "").map((c) => c.toLowerCase());
  const folderCol = header.indexOf("folder");
  const importCol = header.indexOf("may import");
  if (folderCol === -1 || importCol === -1) throw new Error(`docs/architecture.md:${start + 1}: the layer table needs "folder" and "may import" columns`);
  const rows: { folders: string[]; cell: string; line: number }[] = [];
  for (let i = start + 2; i < lines.length && lines[i]?.trim().startsWith("|"); i += 1) {
    const row = cells(lines[i] ?? "");
    const folders = [...(row[folderCol] ?? "").matchAll(/`([^`]+)`/g)].map((m) => (m[1] ?? "").replace(/\/+$/, ""));
    if (folders.length === 0) throw new Error(`docs/architecture.md:${i + 1}: the folder cell names no \`folder\``);
    rows.push({ folders, cell: row[importCol] ?? "", line: i + 1 });
  }
  const allFolders = rows.flatMap((r) => r.folders);
  const seen = new Set<string>();
  for (const f of allFolders) {
    if (seen.has(f)) throw new Error(`docs/architecture.md: folder \`${f}\` is in the layer table twice`);
    seen.add(f);
  }
  /** Layers a name in a "may import" cell stands for: the folder itself or every folder under it. */
  const named = (name: string, line: number): string[] => {
    const matches = allFolders.filter((f) => shortName(f) === name || shortName(f).startsWith(`${name}/`));
    if (matches.length === 0) throw new Error(`docs/architecture.md:${line}: "may import" names "${name}", which is no folder of the table`);
    return matches;
  };
  const layers: Layer[] = [];
  for (const row of rows) {
    const cell = withoutRemark(row.cell.replace(/`/g, "").trim());
    let everything = false;
    const allows: Allowance[] = [];
    if (/^everything\s*(\(.*\))?$/.test(cell)) everything = true;
    else if (cell !== "—" && cell !== "-" && cell !== "nothing") {
      for (const item of splitTopLevel(cell)) {
        const m = /^([a-z0-9][a-z0-9/-]*)\s*(?:\(([^)]*)\))?$/.exec(item);
        if (!m) throw new Error(`docs/architecture.md:${row.line}: cannot read "${item}" in "may import" (write: name, name (types), name (reason))`);
        const typesOnly = /^types\b/.test((m[2] ?? "").trim());
        for (const layer of named(m[1] ?? "", row.line)) allows.push({ layer, typesOnly });
      }
    }
    for (const folder of row.folders) layers.push({ folder, name: shortName(folder), line: row.line, everything, allows });
  }
  return layers;
}

/** The table of the committed page. */
export function readLayers(page: string = ARCHITECTURE_PAGE): Layer[] {
  return parseLayerTable(readFileSync(page, "utf8"));
}

/** The layer a file (absolute path) belongs to: the longest table folder containing it. */
export function layerOf(layers: Layer[], file: string, root: string = repoRoot): Layer | undefined {
  const rel = repoPath(file, root);
  let best: Layer | undefined;
  for (const layer of layers) {
    if (rel === layer.folder || rel.startsWith(`${layer.folder}/`)) {
      if (!best || layer.folder.length > best.folder.length) best = layer;
    }
  }
  return best;
}

export type Verdict = "ok" | "types-only" | "forbidden";

/** A unit test beside the code: it may make values of the types its folder imports. */
export const isUnitTest = (file: string): boolean => /\.test\.[cm]?[jt]s$/.test(file);

/**
 * Whether `from` may import a file of `to` (a value import, or `import type` when typeOnly);
 * `fromTest` when the importing file is a unit test, which may import as values what its
 * layer may import as types.
 */
export function verdict(from: Layer, to: Layer, typeOnly: boolean, fromTest = false): Verdict {
  if (from.folder === to.folder || from.everything) return "ok";
  const allowances = from.allows.filter((a) => a.layer === to.folder);
  if (allowances.some((a) => !a.typesOnly)) return "ok";
  if (allowances.length > 0) return typeOnly || fromTest ? "ok" : "types-only";
  return "forbidden";
}

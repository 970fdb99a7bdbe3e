// Test support: the repository's Markdown pages and the parts of them the docs tests check.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

export const repoRoot = join(import.meta.dirname, "../..");

export interface DocPage {
  /** Repository-relative path, e.g. docs/review.md */
  path: string;
  text: string;
}

export interface CodeBlock {
  page: string;
  /** Info string after the opening fence (`yaml`, `sh`, `ini`…), lower-cased; "" when none. */
  lang: string;
  /** 1-based lines of the opening and the closing fence. */
  line: number;
  endLine: number;
  code: string;
}

/** README.md and every docs/*.md: the pages a new user reads. */
export function docPages(): DocPage[] {
  // docs/*.md and one level of sub-folders (docs/clients/).
  const docs = readdirSync(join(repoRoot, "docs"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".md") && f.split("/").length <= 2)
    .sort()
    .map((f) => join(repoRoot, "docs", f));
  return [join(repoRoot, "README.md"), ...docs].map((file) => ({ path: relative(repoRoot, file), text: readFileSync(file, "utf8") }));
}

/** Fenced code blocks (``` or ~~~, any length), with their language and position. */
export function codeBlocks(page: DocPage): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = page.text.split("\n");
  let open: { fence: string; lang: string; line: number; body: string[] } | undefined;
  lines.forEach((line, index) => {
    const fence = /^\s{0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(line);
    if (!open) {
      if (fence?.[1]) open = { fence: fence[1], lang: (fence[2] ?? "").toLowerCase(), line: index + 1, body: [] };
      return;
    }
    if (fence?.[1] && fence[1][0] === open.fence[0] && fence[1].length >= open.fence.length && line.trim() === fence[1]) {
      blocks.push({ page: page.path, lang: open.lang, line: open.line, endLine: index + 1, code: open.body.join("\n") });
      open = undefined;
      return;
    }
    open.body.push(line);
  });
  if (open) throw new Error(`${page.path}:${open.line}: code fence never closed`);
  return blocks;
}

/** The page's prose: fenced blocks blanked out (line numbers kept), so links in code are not links. */
export function prose(page: DocPage): string {
  const lines = page.text.split("\n");
  for (const block of codeBlocks(page)) {
    for (let i = block.line - 1; i < block.endLine; i += 1) lines[i] = "";
  }
  return lines.join("\n");
}

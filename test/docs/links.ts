// Test support: relative links of a Markdown page and whether they resolve in the repository.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { prose, repoRoot, type DocPage } from "./markdown.ts";

export interface Link {
  page: string;
  line: number;
  target: string;
}

const inlineCode = /(`+)(?:(?!\1)[\s\S])*?\1/g;

/** Inline links `[text](target "title")`, images, reference definitions `[x]: target` and `<img src>` / `<a href>`. */
export function relativeLinks(page: DocPage): Link[] {
  const lines = prose(page).split("\n");
  const links: Link[] = [];
  lines.forEach((raw, index) => {
    const line = raw.replace(inlineCode, (m) => " ".repeat(m.length));
    const targets: string[] = [];
    for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) if (m[1]) targets.push(m[1]);
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line);
    if (definition?.[1]) targets.push(definition[1]);
    for (const m of line.matchAll(/<(?:img|a)\s[^>]*(?:src|href)="([^"]+)"/g)) if (m[1]) targets.push(m[1]);
    for (const target of targets) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue; // https:, mailto:, …
      links.push({ page: page.path, line: index + 1, target });
    }
  });
  return links;
}

/** GitHub's heading anchors: lower-case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const page: DocPage = { path: "", text };
  const lines = prose(page).split("\n");
  for (const line of lines) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading?.[1]) continue;
    const base = heading[1]
      .replace(/`/g, "")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Why a link does not resolve, or undefined when it does (file or directory exists, anchor is a heading). */
export function brokenReason(link: Link): string | undefined {
  const [pathPart = "", fragment] = link.target.split("#", 2);
  const decoded = decodeURIComponent(pathPart);
  const file = decoded === "" ? join(repoRoot, link.page) : normalize(join(repoRoot, dirname(link.page), decoded));
  const inRepo = relative(repoRoot, file);
  if (inRepo.startsWith("..")) return `points outside the repository (${inRepo})`;
  if (!existsSync(file)) return `${inRepo} does not exist`;
  if (fragment === undefined || fragment === "" || !file.endsWith(".md") || statSync(file).isDirectory()) return undefined;
  const anchors = headingAnchors(readFileSync(file, "utf8"));
  return anchors.has(fragment.toLowerCase()) ? undefined : `${inRepo} has no heading #${fragment}`;
}

/** Paths to Markdown pages written as inline code (`docs/usage.md`): a stale one misleads as much as a link. */
export function mentionedPages(page: DocPage): Link[] {
  const mentions: Link[] = [];
  prose(page)
    .split("\n")
    .forEach((line, index) => {
      for (const m of line.matchAll(inlineCode)) {
        const code = m[0].replace(/^`+|`+$/g, "").trim();
        if (/^(?:\.\/)?(?:[\w.-]+\/)*[\w.-]+\.md$/.test(code)) mentions.push({ page: page.path, line: index + 1, target: code });
      }
    });
  return mentions;
}

/** A mention resolves against the page's directory or the repository root (both spellings are used). */
export function mentionResolves(mention: Link): boolean {
  return existsSync(join(repoRoot, dirname(mention.page), mention.target)) || existsSync(join(repoRoot, mention.target));
}

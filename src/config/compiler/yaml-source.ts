import { LineCounter, isMap, isNode, isScalar, parseDocument, type Document } from "yaml";
import type { z } from "zod";
import { explainIssue } from "./hints.ts";
import type { ConfigIssue } from "./issues.ts";

/** A parsed YAML text that can say on which line any field lives. */
export interface YamlSource {
  value: unknown;
  issues: ConfigIssue[];
  locate(path: readonly PropertyKey[]): { line: number; column: number };
  /** Where a key itself is written (for unknown keys), falling back to its parent. */
  locateKey(parent: readonly PropertyKey[], key: string): { line: number; column: number };
}

/**
 * Parses YAML keeping positions. `lineOffset` shifts reported lines (frontmatter starts
 * below the opening `---` of a markdown file).
 */
export function parseYamlSource(file: string, text: string, lineOffset = 0): YamlSource {
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line + lineOffset, column: pos.col };
  };
  const issues: ConfigIssue[] = doc.errors.map((err) => ({ file, ...at(err.pos[0]), field: "", message: `invalid YAML: ${err.message.split("\n")[0]}` }));
  const locate = (path: readonly PropertyKey[]) => {
    // Walk up until a node exists: a missing field is reported where its parent is.
    for (let depth = path.length; depth >= 0; depth--) {
      const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth) as unknown[], true);
      if (isNode(node) && node.range) return at(node.range[0]);
    }
    return { line: 1 + lineOffset, column: 1 };
  };
  const locateKey = (parent: readonly PropertyKey[], key: string) => {
    const node = parent.length === 0 ? doc.contents : doc.getIn(parent as unknown[], true);
    if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key) && String(pair.key.value) === key && pair.key.range) return at(pair.key.range[0]);
      }
    }
    return locate(parent);
  };
  return { value: issues.length ? undefined : (doc.toJS() as unknown), issues, locate, locateKey };
}

/** zod issues of one YAML source as located ConfigIssues, each message with its fix (`schema`: what the source was checked against). */
export function zodIssues(file: string, source: YamlSource, error: z.ZodError, schema: z.core.$ZodType, pathPrefix: readonly PropertyKey[] = []): ConfigIssue[] {
  return error.issues.map((issue) => {
    const path = [...pathPrefix, ...issue.path];
    const unknownKeys = issue.code === "unrecognized_keys" ? issue.keys : [];
    const field = [...issue.path, ...(unknownKeys.length === 1 ? unknownKeys : [])].map(String).join(".");
    const located = unknownKeys.length >= 1 ? source.locateKey(path, unknownKeys[0] as string) : source.locate(path);
    return { file, ...located, field, message: explainIssue(schema, issue) };
  });
}

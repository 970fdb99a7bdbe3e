import { z } from "zod";
import { severitySchema } from "../codex/index.ts";

/**
 * Gatehouse's comments carry a hidden HTML comment so a later run can recognise its own
 * findings (re-review) and tell them apart from human comments (break glass, won't fix).
 */
const findingMetaSchema = z.object({
  fp: z.string(),
  path: z.string(),
  line: z.number().int(),
  title: z.string(),
  severity: severitySchema,
  rule: z.string().optional(),
  evidence: z.string().default(""),
});
export type FindingMeta = z.infer<typeof findingMetaSchema>;

const findingPrefix = "<!-- gatehouse-finding ";
export const summaryMarker = "<!-- gatehouse-review -->";
export const resolvedMarker = "<!-- gatehouse-resolved -->";

export function findingMarker(meta: FindingMeta): string {
  // "--" may not appear inside an HTML comment; escape it in the JSON.
  return `${findingPrefix}${JSON.stringify(meta).replace(/--/g, "-\\u002d")} -->`;
}

export function readFindingMarker(body: string): FindingMeta | undefined {
  const start = body.indexOf(findingPrefix);
  if (start < 0) return undefined;
  const end = body.indexOf(" -->", start + findingPrefix.length);
  if (end < 0) return undefined;
  try {
    const parsed = findingMetaSchema.safeParse(JSON.parse(body.slice(start + findingPrefix.length, end)));
    return parsed.success ? parsed.data : undefined;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** Whether a comment was written by Gatehouse (any of its markers). */
export function isGatehouseComment(body: string): boolean {
  return body.includes(findingPrefix) || body.includes(summaryMarker) || body.includes(resolvedMarker);
}

/** The fields of a prior finding that its hidden marker carries (the platform adds thread state). */
export function findingFromMarker(meta: FindingMeta): { fingerprint: string; path: string; line: number; title: string; severity: FindingMeta["severity"]; rule: string | undefined; evidence: string } {
  return { fingerprint: meta.fp, path: meta.path, line: meta.line, title: meta.title, severity: meta.severity, rule: meta.rule, evidence: meta.evidence };
}

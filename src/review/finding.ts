import { z } from "zod";
import { severitySchema, type Severity } from "../codex/index.ts";

/** One finding as a specialist reports it; the model is asked for JSON matching this schema. */
export const findingSchema = z
  .object({
    id: z.string().min(1).max(80).describe("Short id unique within this reviewer's reply, e.g. F1."),
    severity: severitySchema,
    path: z.string().min(1).describe("Repository-relative path of the file, as in the diff."),
    line: z.number().int().positive().describe("Line number in the NEW version of the file."),
    rule: z.string().min(1).optional().describe("Codex rule id, only when a given Codex rule applies."),
    title: z.string().min(3).max(200).describe("One-line statement of the problem."),
    evidence: z.string().min(1).max(2000).describe("The exact code at or around the line that shows the problem, copied from the file."),
    suggestion: z.string().max(4000).default("").describe("The concrete fix."),
  })
  .strip();

export type Finding = z.infer<typeof findingSchema>;

export const reviewerReplySchema = z.object({ findings: z.array(z.unknown()) });

/** A finding carried through the judge, with where it came from. */
export interface CandidateFinding extends Finding {
  reviewers: string[];
}

export const severityRank: Record<Severity, number> = { critical: 3, warning: 2, suggestion: 1 };

export interface ParsedReply {
  findings: Finding[];
  /** Items in the reply that did not match the finding schema (dropped, counted). */
  invalid: number;
  /** Set when the reply held no JSON object with a `findings` array at all. */
  error: string | undefined;
}

/** Every top-level `{...}` span in the text, tried from the last (models put the answer last). */
function jsonObjectCandidates(text: string): string[] {
  const candidates: string[] = [];
  const fenced = /```(?:json)?\s*\n([\s\S]*?)```/g;
  for (let m = fenced.exec(text); m; m = fenced.exec(text)) if (m[1]) candidates.push(m[1]);
  const first = text.indexOf("{");
  const last = text.lastIndexOf("}");
  if (first >= 0 && last > first) candidates.push(text.slice(first, last + 1));
  return candidates.reverse();
}

/**
 * Reads a reviewer's final message. Models wrap JSON in prose or fences and sometimes get a
 * field wrong; each finding is validated on its own so one bad item loses only itself.
 */
export function parseReviewerReply(text: string): ParsedReply {
  for (const candidate of jsonObjectCandidates(text)) {
    let value: unknown;
    try {
      value = JSON.parse(candidate);
    } catch (err) {
      if (err instanceof SyntaxError) continue;
      throw err;
    }
    const reply = reviewerReplySchema.safeParse(value);
    if (!reply.success) continue;
    const findings: Finding[] = [];
    let invalid = 0;
    for (const item of reply.data.findings) {
      const finding = findingSchema.safeParse(item);
      if (finding.success) findings.push(finding.data);
      else invalid += 1;
    }
    return { findings, invalid, error: undefined };
  }
  return { findings: [], invalid: 0, error: 'no JSON object with a "findings" array in the reply' };
}

/** The JSON Schema of the reply, put in the reviewer prompt. */
export function replyJsonSchema(): unknown {
  return z.toJSONSchema(z.object({ findings: z.array(findingSchema) }), { io: "input" });
}

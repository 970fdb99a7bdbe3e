import { z } from "zod";

/**
 * A golden comment. Accepts our shape and public benchmarks' spellings: Martian's Code
 * Review Bench uses `comment` for the text and a PR URL; path and line are optional.
 */
const goldenCommentSchema = z
  .object({
    body: z.string().optional(),
    comment: z.string().optional(),
    path: z.string().optional(),
    line: z.number().int().positive().optional(),
    severity: z.string().optional(),
  })
  .loose()
  .refine((c) => (c.body ?? c.comment) !== undefined, "a golden comment needs `body` (or `comment`)")
  .transform((c) => ({ body: c.body ?? c.comment ?? "", path: c.path, line: c.line, severity: c.severity }));

export type GoldenComment = z.output<typeof goldenCommentSchema>;

const goldenCaseSchema = z
  .object({
    pr: z.string().optional(),
    url: z.string().optional(),
    pr_title: z.string().optional(),
    title: z.string().optional(),
    comments: z.array(goldenCommentSchema),
    /** Optional local checkout to review: a git repository path and the two refs. */
    repo: z.string().optional(),
    base: z.string().optional(),
    head: z.string().optional(),
  })
  .loose()
  .refine((c) => (c.pr ?? c.url ?? c.pr_title) !== undefined, "a case needs `pr` (or `url` / `pr_title`)")
  .transform((c) => ({ id: c.pr ?? c.url ?? c.pr_title ?? "", title: c.title ?? c.pr_title ?? "", comments: c.comments, repo: c.repo, base: c.base, head: c.head }));

export type GoldenCase = z.output<typeof goldenCaseSchema>;

/** A list of cases, or an object of lists keyed by repository (as Martian ships one file per repo). */
export const goldenFileSchema = z.union([z.array(goldenCaseSchema), z.record(z.string(), z.array(goldenCaseSchema))]);

export function parseGoldenFile(raw: unknown, source: string): GoldenCase[] {
  const result = goldenFileSchema.safeParse(raw);
  if (!result.success) {
    throw new Error(`Invalid golden file ${source}:\n${result.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`).join("\n")}`);
  }
  return Array.isArray(result.data) ? result.data : Object.values(result.data).flat();
}

/** What a reviewer reported on one case, as scored. */
export interface ReportedFinding {
  path: string;
  line: number;
  title: string;
  evidence: string;
  suggestion: string;
  severity: string;
}

/** Pre-computed findings of any tool, keyed by case id (scores other reviewers too). */
export const findingsFileSchema = z.record(
  z.string(),
  z.array(
    z
      .object({ path: z.string(), line: z.number().int(), title: z.string().default(""), body: z.string().optional(), evidence: z.string().default(""), suggestion: z.string().default(""), severity: z.string().default("warning") })
      .transform((f) => ({ path: f.path, line: f.line, title: f.title || (f.body ?? ""), evidence: f.evidence, suggestion: f.suggestion, severity: f.severity })),
  ),
);

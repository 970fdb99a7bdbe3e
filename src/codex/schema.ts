import { z } from "zod";

export const severitySchema = z.enum(["critical", "warning", "suggestion"]).describe("How bad a violation is.");
export type Severity = z.infer<typeof severitySchema>;

/** A Codex rule id: lowercase words joined by dashes, optionally namespaced (`ts/no-floating-promises`). */
export const ruleIdSchema = z.string().regex(/^[a-z0-9]+(?:[-_.][a-z0-9]+)*(?:\/[a-z0-9]+(?:[-_.][a-z0-9]+)*)*$/, "rule id must be lowercase words joined by - _ . or /");

/**
 * The YAML frontmatter of one Codex rule file. The Markdown body holds the explanation and
 * the `## Bad` / `## Good` examples (checked by `gatehouse codex lint`).
 */
export const ruleFrontmatterSchema = z
  .object({
    id: ruleIdSchema.describe("Stable id findings cite, e.g. `ts-no-floating-promises`."),
    title: z.string().min(8).describe('The rule as "If you need X, use Y".'),
    rfc: z.url().describe("Link to the RFC or document that explains why."),
    severity: severitySchema.default("warning").describe("Default severity of a violation."),
    languages: z.array(z.string().min(1)).default([]).describe("Languages the rule applies to (typescript, python, go…); empty = any."),
    paths: z.array(z.string().min(1)).default([]).describe("Path globs the rule applies to; empty = every file of the languages."),
    exceptions: z.array(z.string().min(1)).default([]).describe("Path globs (or plain-language cases) where the rule does not apply."),
  })
  .strict();

export type RuleFrontmatter = z.infer<typeof ruleFrontmatterSchema>;

export interface CodexRule extends RuleFrontmatter {
  /** Explanation text (Markdown body without the examples). */
  body: string;
  bad: string;
  good: string;
  /** File the rule came from, for error messages. */
  source: string;
}

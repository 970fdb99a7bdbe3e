import { z } from "zod";

/** `<gateway-provider>/<model>`, e.g. `anthropic/claude-sonnet-4-5`, `compat/@cf/moonshotai/kimi-k2.5`. */
export const modelRefSchema = z
  .string()
  .regex(/^(anthropic|openai|compat)\/.+$/, "model ref must be anthropic/<model>, openai/<model> or compat/<model>")
  .describe("Gateway provider route and model id.");

const chainSchema = z.array(modelRefSchema).min(1).describe("Models tried in order: the first healthy one answers, the rest are fallbacks.");

export const reviewerNameSchema = z.enum(["generalist", "security", "performance", "quality", "docs", "release", "agents-md", "codex"]);
export type ReviewerName = z.infer<typeof reviewerNameSchema>;

export const reviewConfigSchema = z
  .object({
    gateway: z
      .object({
        url: z.url().describe("Gatehouse base URL; every model call goes through it."),
        tokenEnv: z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/)
          .default("GATEHOUSE_TOKEN")
          .describe("Env var holding the gateway token."),
      })
      .strict(),
    models: z
      .object({
        coordinator: chainSchema.optional().describe("Judge model that re-grades findings; omit for a deterministic judge only."),
        specialist: chainSchema.describe("Default chain for specialists on lite and full reviews."),
        trivial: chainSchema.optional().describe("Chain for the single generalist on trivial diffs (defaults to specialist)."),
        reviewers: z.partialRecord(reviewerNameSchema, chainSchema).default({}).describe("Per-reviewer overrides."),
        evalJudge: chainSchema.optional().describe("Model that decides 'same issue?' in `review eval`."),
      })
      .strict(),
    securityPaths: z.array(z.string()).default(["**/auth/**", "**/crypto/**", "**/security/**", "**/*secret*", "**/*password*"]).describe("Globs that force a full review."),
    ignore: z.array(z.string()).default([]).describe("Extra globs of noise files to leave out of the review."),
    tiers: z
      .object({
        trivialMaxLines: z.number().int().min(0).default(10),
        liteMaxLines: z.number().int().min(0).default(100),
        smallMaxFiles: z.number().int().min(1).default(20).describe("More files than this is never trivial or lite."),
        fullMinFiles: z.number().int().min(1).default(50),
      })
      .strict()
      .default({ trivialMaxLines: 10, liteMaxLines: 100, smallMaxFiles: 20, fullMinFiles: 50 }),
    limits: z
      .object({
        maxFindings: z.number().int().min(1).default(8).describe("Most findings posted; few right ones beat many."),
        maxToolSteps: z.number().int().min(0).default(8).describe("Tool-call rounds per specialist before it must answer."),
        requestTimeoutMs: z.number().int().min(100).default(120_000),
        maxTokens: z.number().int().min(256).default(4096),
        maxPatchChars: z.number().int().min(1000).default(80_000).describe("Diff text given to each specialist; the rest is listed by name."),
        parallel: z.number().int().min(1).default(4).describe("Specialists run at once."),
      })
      .strict()
      .default({ maxFindings: 8, maxToolSteps: 8, requestTimeoutMs: 120_000, maxTokens: 4096, maxPatchChars: 80_000, parallel: 4 }),
    breaker: z
      .object({
        failureThreshold: z.number().int().min(1).default(2).describe("Consecutive failures that open a model's circuit."),
        cooldownMs: z.number().int().min(0).default(60_000).describe("How long an open circuit skips the model."),
      })
      .strict()
      .default({ failureThreshold: 2, cooldownMs: 60_000 }),
    codexDir: z.string().default("codex").describe("Directory of Codex rule files, relative to this config file."),
  })
  .strict();

export type ReviewConfig = z.infer<typeof reviewConfigSchema>;

export function parseReviewConfig(raw: unknown, source: string): ReviewConfig {
  const result = reviewConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${source}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new Error(`Invalid review config:\n${lines.join("\n")}`);
  }
  return result.data;
}

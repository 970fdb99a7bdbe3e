import { z } from "zod";

/** A budget's scope as the counters key it: a person or service account by caller id, or a group's pool. */
export const budgetScopeSchema = z
  .string()
  .regex(/^(user:[A-Za-z0-9_.@-]{1,128}|group:[^\s:@]{1,128})$/, 'must be "user:<caller id>" (a person\'s anonymous id or a service account\'s id) or "group:<name>"')
  .describe('The budget: "user:<caller id>" (a person or a service account: their own per-user budget) or "group:<name>" (the group\'s pool).');

export const budgetPeriodSchema = z.enum(["day", "month"]).describe("Which budget of the scope: the UTC daily or the monthly one.");

export const overrideKindSchema = z.enum(["raise", "cap"]);

const usd = z.number().positive().finite().max(1_000_000);

/** A raise: +amountUsd on top of the limit until `endsAt`. */
export const raiseInputSchema = z
  .object({
    scope: budgetScopeSchema,
    period: budgetPeriodSchema,
    amountUsd: usd.describe("USD added to the budget's limit while the override applies."),
    startsAt: z.number().int().nonnegative().optional().describe("Epoch ms from which it applies; default now."),
    endsAt: z.number().int().positive().describe("Epoch ms at which it stops applying (exclusive)."),
    reason: z.string().trim().min(1).max(500).describe("Why (kept with the override)."),
    actor: z.string().min(1).max(200).describe("Who made it."),
  })
  .strict();

/** A cap: the budget's limit is `limitUsd` (instead of the configured one) until `endsAt`. */
export const capInputSchema = raiseInputSchema
  .omit({ amountUsd: true })
  .extend({ limitUsd: usd.describe("USD the budget's limit is while the override applies (replaces the configured limit; raises add on top).") })
  .strict();

export const resetInputSchema = z
  .object({
    scope: budgetScopeSchema,
    period: budgetPeriodSchema,
    reason: z.string().trim().min(1).max(500),
    actor: z.string().min(1).max(200),
  })
  .strict();

export type RaiseInput = z.input<typeof raiseInputSchema>;
export type CapInput = z.input<typeof capInputSchema>;
export type ResetInput = z.input<typeof resetInputSchema>;
export type BudgetPeriod = z.infer<typeof budgetPeriodSchema>;
export type OverrideKind = z.infer<typeof overrideKindSchema>;

export interface BudgetOverride {
  id: string;
  scope: string;
  period: BudgetPeriod;
  kind: OverrideKind;
  /** raise: USD added; cap: the limit. */
  amountUsd: number;
  startsAt: number;
  /** Exclusive. */
  endsAt: number;
  reason: string;
  actor: string;
  createdAt: number;
  revokedAt: number | null;
  revokedBy: string | null;
}

export interface BudgetReset {
  id: string;
  scope: string;
  period: BudgetPeriod;
  /** YYYY-MM-DD or YYYY-MM. */
  periodKey: string;
  resetAt: number;
  reason: string;
  actor: string;
  createdAt: number;
}

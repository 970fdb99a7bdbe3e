import { z } from "zod";

/**
 * The `policy` key of the organisation config: who may use which models and MCP servers,
 * what they may spend, how fast, which providers must not retain data, and how model
 * aliases route. Absent = no governance (every authenticated caller may use everything).
 */
import { isProviderId, PROVIDER_IDS } from "../providers/ids.ts";

/** "provider/model-glob": provider is an id or "*"; "*" in the model part matches anything, "/" included. */
export const modelPatternSchema = z
  .string()
  .refine(
    (value) => {
      const slash = value.indexOf("/");
      if (slash <= 0 || slash === value.length - 1) return false;
      const provider = value.slice(0, slash);
      return provider === "*" || isProviderId(provider);
    },
    `must be "provider/model" with provider one of ${PROVIDER_IDS.join(", ")} or "*", e.g. "anthropic/claude-*"`,
  )
  .describe('A model pattern "provider/model"; "*" matches any run of characters, "?" one character.');

/** A concrete "provider/model" (no globs): a routing target. */
export const modelRefSchema = z
  .string()
  .regex(new RegExp(`^(${PROVIDER_IDS.join("|")})\\/[^*?]+$`), 'must be "provider/model" without wildcards, e.g. "anthropic/claude-sonnet-4-5"')
  .describe('A concrete model "provider/model".');

const usd = z.number().positive().finite();

export const budgetSchema = z
  .object({
    dailyUsd: usd.optional().describe("USD per UTC day."),
    monthlyUsd: usd.optional().describe("USD per UTC calendar month."),
    warnAt: z.number().gt(0).lt(1).optional().describe("Soft limit: the fraction of each of these limits (e.g. 0.8) at which a budget.threshold alert is sent, once per budget per period (policy.alerts must name a webhook)."),
  })
  .strict();

/** The alert events a webhook can subscribe to (docs/governance.md#alerts). */
export const ALERT_KINDS = ["budget.threshold", "request.denied", "provider.down", "provider.recovered"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

const envNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name, e.g. GATEHOUSE_ALERT_SECRET");

/** http(s); plain http only to a loopback address (a receiver on the same host): a webhook carries spend and identities. */
function webhookUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not a URL";
  }
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && ["127.0.0.1", "[::1]", "localhost"].includes(url.hostname)) return undefined;
  return "must be https:// (plain http only to 127.0.0.1, [::1] or localhost)";
}

export const alertWebhookSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be 1-63 characters of a-z, 0-9, '_' or '-'")
      .describe("Names the webhook in the outbox and the logs (the URL never appears there)."),
    format: z.enum(["slack", "signed"]).describe('"slack": a Slack-compatible {text, blocks} message (an incoming-webhook URL). "signed": the generic JSON event, signed with HMAC-SHA256 in x-gatehouse-signature.'),
    url: z.string().optional().describe("The receiver's URL. Prefer urlEnv when the URL itself is a secret (Slack's are)."),
    urlEnv: envNameSchema.optional().describe("Environment variable (or secrets-file entry) holding the URL."),
    secretEnv: envNameSchema.optional().describe('signed: environment variable (or secrets-file entry) holding the signing secret. Required for format "signed".'),
    events: z
      .array(z.enum(ALERT_KINDS))
      .min(1)
      .default([...ALERT_KINDS])
      .describe(`Which events this webhook gets: ${ALERT_KINDS.join(", ")} (default all).`),
  })
  .strict()
  .superRefine((hook, ctx) => {
    if ((hook.url === undefined) === (hook.urlEnv === undefined)) ctx.addIssue({ code: "custom", path: ["url"], message: "set exactly one of url and urlEnv" });
    const problem = hook.url !== undefined ? webhookUrlProblem(hook.url) : undefined;
    if (problem) ctx.addIssue({ code: "custom", path: ["url"], message: problem });
    if (hook.format === "signed" && hook.secretEnv === undefined) ctx.addIssue({ code: "custom", path: ["secretEnv"], message: 'format "signed" needs secretEnv: the environment variable holding the signing secret' });
  });

export const alertDeliverySchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(50).default(8).describe("Attempts per event and webhook before it is given up (recorded as failed in the outbox)."),
    baseDelayMs: z.number().int().min(10).max(3_600_000).default(1_000).describe("First retry delay; doubled per attempt, plus up to 25 % jitter."),
    maxDelayMs: z.number().int().min(10).max(86_400_000).default(300_000).describe("Largest retry delay."),
    timeoutMs: z.number().int().min(100).max(120_000).default(10_000).describe("How long one delivery attempt may take."),
  })
  .strict();

export const alertsSchema = z
  .object({
    webhooks: z.array(alertWebhookSchema).min(1).describe("Where alerts go."),
    denialWindowSeconds: z.number().int().positive().max(86_400).default(300).describe("At most one request.denied alert per caller and reason in this window (a rate-limit storm is one alert)."),
    providerWindowSeconds: z.number().int().positive().max(86_400).default(300).describe("At most one provider.down (and one provider.recovered) alert per model in this window (a flapping provider)."),
    delivery: alertDeliverySchema.default({ maxAttempts: 8, baseDelayMs: 1_000, maxDelayMs: 300_000, timeoutMs: 10_000 }),
  })
  .strict()
  .superRefine((alerts, ctx) => {
    const seen = new Set<string>();
    alerts.webhooks.forEach((hook, i) => {
      if (seen.has(hook.name)) ctx.addIssue({ code: "custom", path: ["webhooks", i, "name"], message: `webhook name "${hook.name}" is used twice` });
      seen.add(hook.name);
    });
  })
  .describe("Soft-limit, denial and provider alerts, sent to webhooks from a durable outbox, never on the request path (docs/governance.md#alerts).");

export const rateLimitSchema = z
  .object({
    requestsPerMinute: z.number().int().positive().optional().describe("Requests per minute (sliding window)."),
    tokensPerMinute: z.number().int().positive().optional().describe("Input + output tokens per minute (sliding window; estimated at admission, corrected from real usage)."),
  })
  .strict();

export const storeOutageSchema = z
  .object({
    mode: z
      .enum(["closed", "open"])
      .default("closed")
      .describe(
        '"closed": while the shared store (PostgreSQL) cannot be reached, requests under a budget or rate limit get a 503 in the provider\'s error shape with retry-after. "open": each user may spend up to openAllowanceUsd per instance during the outage (never past what the instance last saw of their budgets); the real cost is added to the shared counters when the store is back.',
      ),
    retryAfterSeconds: z.number().int().positive().max(3600).default(5).describe("retry-after sent with the 503 while the store is down."),
    openAllowanceUsd: z.number().nonnegative().finite().default(1).describe("open mode: USD each user may spend on one instance while the store is down (estimates count until the real cost is known)."),
  })
  .strict()
  .describe("What budgets and rate limits do while the shared store is unreachable (see docs/deploy.md).");

export const groupRuleSchema = z
  .object({
    models: z.array(modelPatternSchema).default([]).describe("Models members may use; the union over the caller's groups applies."),
    mcpServers: z.array(z.string().min(1)).default([]).describe('MCP portal servers members may use ("*" = all).'),
    budget: z
      .object({
        perUser: budgetSchema.optional().describe("Cap on each member's own spend; with several groups the largest cap set applies."),
        group: budgetSchema.optional().describe("Cap on the members' combined spend."),
      })
      .strict()
      .optional(),
    rateLimit: z
      .object({
        perUser: rateLimitSchema.optional().describe("Per member; with several groups the largest limit set applies."),
        group: rateLimitSchema.optional().describe("For all members together."),
      })
      .strict()
      .optional(),
  })
  .strict();

export const policySchema = z
  .object({
    groups: z.record(z.string().min(1), groupRuleSchema).default({}).describe("Rules per group; groups come from the identity token (e.g. the `groups` claim) or the group mapping."),
    defaultGroup: z.string().min(1).optional().describe("Group whose rules apply to callers in none of the configured groups. Unset: such callers are refused."),
    zdr: z
      .object({
        models: z.array(modelPatternSchema).default([]).describe("Models that are zero data retention, in addition to every model of a provider with providers.<id>.zeroDataRetention: true."),
      })
      .strict()
      .default({ models: [] })
      .describe("Zero data retention: Gatehouse sets store:false on OpenAI, refuses routes that retain data, never logs bodies."),
    routing: z
      .object({
        aliases: z.record(z.string().min(1), z.array(modelRefSchema).min(1)).default({}).describe("Requested model name -> ordered chain of provider/model; the first healthy one the caller may use is sent, the rest are fallbacks."),
      })
      .strict()
      .default({ aliases: {} }),
    circuitBreaker: z
      .object({
        failureThreshold: z.number().int().positive().default(5).describe("Consecutive 429/5xx/network failures that open a model's circuit."),
        openSeconds: z.number().positive().default(30).describe("How long an open circuit skips the model before one trial request."),
      })
      .strict()
      .default({ failureThreshold: 5, openSeconds: 30 }),
    estimate: z
      .object({
        bytesPerToken: z.number().positive().default(1).describe("Request bytes per estimated input token when reserving budget; 1 is an upper bound for text (no tokenizer maps fewer than one byte to a token)."),
        defaultMaxOutputTokens: z.number().int().positive().default(4096).describe("Output tokens reserved when the request sets no max_tokens / max_output_tokens / maxOutputTokens."),
      })
      .strict()
      .default({ bytesPerToken: 1, defaultMaxOutputTokens: 4096 }),
    unpriced: z.enum(["deny", "allow"]).default("deny").describe("A model with no price (catalog or pricing:) where a budget applies: deny refuses it (a budget cannot hold what it cannot price); allow serves it and records the row as unpriced."),
    reconcileSeconds: z.number().positive().default(30).describe("How often in-memory spend is reconciled with the ledger."),
    storeOutage: storeOutageSchema.default({ mode: "closed", retryAfterSeconds: 5, openAllowanceUsd: 1 }),
    alerts: alertsSchema.optional(),
    dashboard: z
      .object({
        adminGroups: z.array(z.string().min(1)).min(1).default(["admin"]).describe("Groups allowed to see the dashboard and /metrics."),
        metricsPublic: z.boolean().default(false).describe("Serve /metrics without authentication (only on a private network)."),
      })
      .strict()
      .default({ adminGroups: ["admin"], metricsPublic: false }),
  })
  .strict()
  .superRefine((policy, ctx) => {
    if (policy.defaultGroup !== undefined && !(policy.defaultGroup in policy.groups)) {
      ctx.addIssue({ code: "custom", path: ["defaultGroup"], message: `names group "${policy.defaultGroup}", which is not under policy.groups` });
    }
  })
  .describe("Governance: permissions, budgets, rate limits, zero data retention, model routing.");

export type PolicyConfig = z.infer<typeof policySchema>;
export type GroupRule = z.infer<typeof groupRuleSchema>;
export type BudgetLimits = z.infer<typeof budgetSchema>;
export type RateLimits = z.infer<typeof rateLimitSchema>;
export type StoreOutagePolicy = z.infer<typeof storeOutageSchema>;
export type AlertsConfig = z.infer<typeof alertsSchema>;
export type AlertWebhook = z.infer<typeof alertWebhookSchema>;

/** Defaults for the parts the dashboard needs even when no policy is configured. */
export const defaultDashboardPolicy: { adminGroups: readonly string[]; metricsPublic: boolean } = { adminGroups: ["admin"], metricsPublic: false };

import { z } from "zod";
import { REVOCATION_KINDS, serviceAccountLimitsSchema, serviceAccountNameSchema, serviceAccountScopesSchema } from "../identity/index.ts";

/**
 * The admin API's bodies. Requests are strict (an unknown field is refused: a typo must not
 * silently widen or narrow what was asked); times are epoch milliseconds, as the store keeps them.
 */

const epochMs = z.number().int().describe("epoch milliseconds");
const nullableEpochMs = epochMs.nullable();
const reason = z.string().trim().min(1).max(500);

export const errorResponseSchema = z.object({
  error: z.object({
    code: z.string().describe("unauthenticated, forbidden, not_found, bad_request, conflict, …"),
    message: z.string().describe("what is wrong and how to fix it"),
    requestId: z.string(),
  }),
});

// ── service accounts ──────────────────────────────────────────────────────────────────────

const scopesOut = z.object({
  routes: z.array(z.string()),
  models: z.array(z.string()),
  mcpServers: z.array(z.string()),
  metricsRead: z.boolean(),
  admin: z.boolean(),
});
const limitsOut = z.object({
  dailyUsd: z.number().optional(),
  monthlyUsd: z.number().optional(),
  requestsPerMinute: z.number().optional(),
  tokensPerMinute: z.number().optional(),
});

export const serviceAccountSchema = z.object({
  id: z.string().describe("the account's caller id in the ledger and budgets"),
  name: z.string(),
  ownerGroup: z.string(),
  scopes: scopesOut,
  limits: limitsOut,
  createdAt: epochMs,
  createdBy: z.string(),
  expiresAt: nullableEpochMs,
  disabledAt: nullableEpochMs,
});

export const keySchema = z.object({
  id: z.string(),
  accountId: z.string(),
  hint: z.string().describe("the first characters of the key, to tell keys apart; never enough to use"),
  createdAt: epochMs,
  expiresAt: nullableEpochMs,
  revokedAt: nullableEpochMs,
  revokedReason: z.string().nullable(),
});

export const createdKeySchema = z.object({
  key: z.string().describe("the key (ghsa_…): shown in this response only, stored as a hash"),
  record: keySchema,
});

export const serviceAccountNameParams = z.object({ name: serviceAccountNameSchema });
export const keyParams = z.object({ name: serviceAccountNameSchema, keyId: z.string().min(1) });

export const createServiceAccountBody = z.strictObject({
  name: serviceAccountNameSchema,
  ownerGroup: z.string().min(1).describe("owning group: its policy applies, the ledger shows spend under it"),
  scopes: serviceAccountScopesSchema.strict(),
  limits: serviceAccountLimitsSchema.strict().optional(),
  expiresAt: epochMs.positive().optional().describe("when the account expires; absent = never"),
  keyTtlSeconds: z.number().int().positive().optional().describe("lifetime of the first key; absent = until revoked"),
});

export const createServiceAccountResponse = z.object({ account: serviceAccountSchema, key: createdKeySchema });
export const serviceAccountListResponse = z.object({ serviceAccounts: z.array(serviceAccountSchema.extend({ activeKeys: z.number().int() })) });
export const serviceAccountDetailResponse = z.object({ account: serviceAccountSchema, keys: z.array(keySchema) });
export const disableBody = z.strictObject({ reason: reason.optional() });
export const addKeyBody = z.strictObject({ ttlSeconds: z.number().int().positive().optional().describe("lifetime of the key; absent = until revoked") });
export const keyListResponse = z.object({ keys: z.array(keySchema) });
export const rollOverBody = z.strictObject({
  graceSeconds: z.number().int().min(0).max(90 * 86_400).optional().describe("how long the old key keeps working (default 86400: one day)"),
  ttlSeconds: z.number().int().positive().optional().describe("lifetime of the new key; absent = until revoked"),
});
export const rollOverResponse = z.object({ key: createdKeySchema, old: keySchema });
export const revokeKeyBody = z.strictObject({ reason: reason.optional() });
export const revokedKeyResponse = z.object({ revoked: z.literal(true), keyId: z.string() });

// ── people's tokens and revocations ───────────────────────────────────────────────────────

export const tokenListQuery = z.strictObject({
  email: z.string().optional().describe("only this person's tokens"),
  all: z.enum(["true", "false"]).optional().describe("include expired tokens"),
});
export const tokenListResponse = z.object({
  tokens: z.array(z.object({ jti: z.string(), callerId: z.string(), source: z.string(), issuedAt: epochMs, expiresAt: epochMs, revokedAt: nullableEpochMs })),
});

export const revocationKindSchema = z.enum(REVOCATION_KINDS as ["sub", "email", "jti", "group"]);
export const revokeBody = z.strictObject({
  kind: revocationKindSchema.describe("jti: one token id; email: every token of the person; sub: every token of a jwt-mode subject; group: every token carrying the group"),
  value: z.string().trim().min(1).max(500),
  reason: reason.optional(),
});
export const revocationResponse = z.object({
  id: z.string(),
  kind: revocationKindSchema,
  value: z.string(),
  revokedAt: epochMs,
  gatehouseTokens: z.number().int().describe("Gatehouse-issued tokens marked revoked (by jti and email)"),
  effectiveWithinMs: z.number().int().describe("every instance refuses the revoked tokens within this bound"),
});
export const revocationListQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).optional() });
export const revocationListResponse = z.object({
  revocations: z.array(z.object({ id: z.string(), kind: z.string(), value: z.string(), revokedAt: epochMs, reason: z.string(), actor: z.string() })),
});

// ── usage, requests, audit ────────────────────────────────────────────────────────────────

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a UTC day as YYYY-MM-DD");
export const USAGE_GROUPS = ["day", "provider", "model", "caller", "team", "client", "session"] as const;
export const usageQuery = z.strictObject({
  by: z
    .string()
    .default("day,provider,model")
    .describe(`comma-separated grouping: ${USAGE_GROUPS.join(", ")}`)
    .refine((v) => v.split(",").every((g) => (USAGE_GROUPS as readonly string[]).includes(g.trim())), { message: `by is a comma-separated list of ${USAGE_GROUPS.join(", ")}` }),
  since: day.optional().describe("first day, inclusive"),
  until: day.optional().describe("last day, inclusive"),
});
export const usageResponse = z.object({
  rows: z.array(
    z.object({
      keys: z.record(z.string(), z.string().optional()),
      requests: z.number(),
      inputTokens: z.number(),
      outputTokens: z.number(),
      cacheReadTokens: z.number(),
      cacheWriteTokens: z.number(),
      reasoningTokens: z.number(),
      costUsd: z.number(),
      estimatedUsd: z.number().optional(),
      estimatedRequests: z.number().optional(),
      unpricedRequests: z.number().optional(),
      errors: z.number(),
      cacheHitRate: z.number().nullable().optional().describe("cache-read tokens / all input tokens (uncached + cache reads + cache writes); null without input"),
    }),
  ),
});

export const REQUEST_OUTCOMES = ["completed", "client_aborted", "upstream_failed", "not_forwarded"] as const;
export const requestsQuery = z.strictObject({
  since: z.coerce.number().int().optional().describe("epoch ms, inclusive"),
  until: z.coerce.number().int().optional().describe("epoch ms, exclusive"),
  caller: z.string().optional().describe("caller id: an anonymous id or a service account's id"),
  team: z.string().optional(),
  provider: z.string().optional(),
  model: z.string().optional(),
  client: z.string().optional().describe("the coding client (opencode, claude-code, codex, gemini-cli, sdk, other)"),
  outcome: z.enum(REQUEST_OUTCOMES).optional(),
  status: z.coerce.number().int().min(100).max(599).optional(),
  minCostUsd: z.coerce.number().min(0).optional(),
  before: z.string().optional().describe("request id to page from (older rows than it)"),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const requestRowSchema = z.object({
  requestId: z.string(),
  ts: epochMs,
  callerId: z.string(),
  team: z.string().nullable(),
  provider: z.string(),
  model: z.string(),
  requestedModel: z.string().nullable(),
  endpoint: z.string(),
  streamed: z.boolean(),
  status: z.number().int(),
  outcome: z.string(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  cacheReadTokens: z.number(),
  cacheWriteTokens: z.number(),
  reasoningTokens: z.number(),
  costUsd: z.number(),
  estimated: z.boolean(),
  unpriced: z.boolean(),
  upstreamLatencyMs: z.number().nullable(),
  ttfbMs: z.number().nullable(),
  durationMs: z.number(),
  attempts: z.number().int(),
  errorCode: z.string().nullable(),
  client: z.string().nullable(),
  clientVersion: z.string().nullable(),
  sessionId: z.string().nullable(),
});
export const requestsResponse = z.object({ requests: z.array(requestRowSchema), next: z.string().nullable().describe("pass as `before` for the next page; null at the end") });

export const AUDIT_OUTCOMES = ["started", "ok", "failed", "denied"] as const;
export const auditQuery = z.strictObject({
  since: z.coerce.number().int().optional().describe("epoch ms, inclusive"),
  until: z.coerce.number().int().optional().describe("epoch ms, exclusive"),
  actor: z.string().optional().describe("actor id: an anonymous id, a service account id, or the CLI's OS user"),
  action: z.string().optional().describe("e.g. service_account.create, key.revoke, token.revoke_email"),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export const auditEntrySchema = z.object({
  id: z.string(),
  ts: epochMs,
  actor: z.object({ kind: z.enum(["person", "service_account", "cli"]), id: z.string(), name: z.string() }),
  action: z.string(),
  target: z.string(),
  outcome: z.enum(AUDIT_OUTCOMES),
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  via: z.enum(["api", "cli"]),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  requestId: z.string().nullable(),
});
export const auditResponse = z.object({ entries: z.array(auditEntrySchema) });

export const openApiDocumentSchema = z.record(z.string(), z.unknown());

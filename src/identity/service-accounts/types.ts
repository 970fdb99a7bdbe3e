import { z } from "zod";
import { isProviderId, PROVIDER_IDS } from "../../providers/ids.ts";

/** Names are what admins type and what the ledger's team view shows beside people. */
export const serviceAccountNameSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, "a service account name is 2–63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit");

const routeSchema = z.string().refine((r) => r === "*" || isProviderId(r), { message: `a route is a provider id (${PROVIDER_IDS.join(", ")}) or *` });
const modelGlobSchema = z.string().refine((g) => g === "*" || /^(\*|[a-z0-9-]+)\/.+$/.test(g), { message: 'a model scope is "provider/model" with * as a wildcard, e.g. "openai/gpt-4o-mini*", or *' });

export const serviceAccountScopesSchema = z.object({
  routes: z.array(routeSchema).min(1, "give at least one route (a provider id such as openai, or *)"),
  models: z.array(modelGlobSchema).default([]),
  mcpServers: z.array(z.string().min(1)).default([]),
  metricsRead: z.boolean().default(false),
  /** The `admin` scope: may call the admin API (/admin/v1). */
  admin: z.boolean().default(false),
});
export type ServiceAccountScopes = z.infer<typeof serviceAccountScopesSchema>;

const usd = z.number().positive().finite();
const perMinute = z.number().int().positive();
export const serviceAccountLimitsSchema = z.object({
  dailyUsd: usd.optional(),
  monthlyUsd: usd.optional(),
  requestsPerMinute: perMinute.optional(),
  tokensPerMinute: perMinute.optional(),
});

export const createServiceAccountSchema = z.object({
  name: serviceAccountNameSchema,
  ownerGroup: z.string().min(1, "a service account is owned by a group"),
  scopes: serviceAccountScopesSchema,
  limits: serviceAccountLimitsSchema.default({}),
  /** Epoch ms; absent = no expiry of the account (keys may still expire). */
  expiresAt: z.number().int().positive().optional(),
  createdBy: z.string().min(1),
});
export type CreateServiceAccount = z.input<typeof createServiceAccountSchema>;

export interface ServiceAccount {
  id: string;
  name: string;
  ownerGroup: string;
  scopes: ServiceAccountScopes;
  limits: z.infer<typeof serviceAccountLimitsSchema>;
  createdAt: number;
  createdBy: string;
  expiresAt: number | null;
  disabledAt: number | null;
}

export interface ServiceAccountKey {
  id: string;
  accountId: string;
  hint: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  revokedReason: string | null;
}

/** A key as created: the only time its text exists outside the caller's hands. */
export interface CreatedKey {
  key: string;
  record: ServiceAccountKey;
}

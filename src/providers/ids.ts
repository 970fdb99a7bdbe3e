/**
 * The gateway's provider ids: route ids, config keys, policy patterns and ledger values.
 * The registry (registry.ts) must hold exactly one descriptor per id; the config schema,
 * policy patterns and discovery read this list instead of keeping their own.
 */
export const PROVIDER_IDS = ["anthropic", "openai", "google-ai-studio", "compat"] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

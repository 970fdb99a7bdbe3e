/**
 * The gateway's provider ids: route ids, config keys, policy patterns and ledger values.
 * The registry (registry.ts) must hold exactly one descriptor per id; the config schema,
 * policy patterns and discovery read this list instead of keeping their own.
 */
export const PROVIDER_IDS = ["anthropic", "openai", "google-ai-studio", "compat", "groq", "bedrock", "vertex", "azure-openai"] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

export function isProviderId(id: string): id is ProviderId {
  return (PROVIDER_IDS as readonly string[]).includes(id);
}

/** Provider-side object kinds an org may enable (on providers whose descriptor has `ownsObjects`). */
export const ENABLEABLE_OBJECT_KINDS = ["files", "batches"] as const;

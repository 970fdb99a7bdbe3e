import type { ProviderId } from "./schema.ts";

/**
 * OpenCode's id for each gateway provider: the built-in ones keep OpenCode's own ids (so its
 * bundled model metadata applies); Google AI Studio is `google` there.
 */
const OPENCODE_IDS: Record<ProviderId, string> = {
  anthropic: "anthropic",
  openai: "openai",
  "google-ai-studio": "google",
  compat: "compat",
};

export function opencodeProviderId(id: ProviderId): string {
  return OPENCODE_IDS[id];
}

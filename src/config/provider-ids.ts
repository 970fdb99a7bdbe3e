import { providerById, type ProviderId } from "../providers/index.ts";

/**
 * OpenCode's id for each gateway provider (the descriptor's `opencodeId`): the built-in
 * ones keep OpenCode's own ids, so its bundled model metadata applies.
 */
export function opencodeProviderId(id: ProviderId): string {
  return providerById(id).opencodeId;
}

import type { ProviderId } from "../config/index.ts";
import { anthropic } from "./anthropic.ts";
import { compat } from "./compat.ts";
import { google } from "./google.ts";
import { openai } from "./openai.ts";
import type { ProviderDescriptor } from "./types.ts";

/** The one provider registry: routes, discovery, pricing and policy all read this list. */
export const providers: readonly ProviderDescriptor[] = [anthropic, openai, google, compat];

const byId = new Map<ProviderId, ProviderDescriptor>(providers.map((p) => [p.id, p]));

export function providerById(id: ProviderId): ProviderDescriptor {
  const descriptor = byId.get(id);
  if (!descriptor) throw new Error(`Unknown provider ${id}`);
  return descriptor;
}

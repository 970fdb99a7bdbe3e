import { anthropic } from "./anthropic.ts";
import { azureOpenai } from "./azure-openai.ts";
import { bedrock } from "./bedrock.ts";
import { compat } from "./compat.ts";
import { google } from "./google.ts";
import { groq } from "./groq.ts";
import type { ProviderId } from "./ids.ts";
import { openai } from "./openai.ts";
import type { ProviderDescriptor } from "./types.ts";
import { vertex } from "./vertex.ts";

/** One descriptor per provider id; the type makes a missing or extra provider a compile error. */
const byId: { readonly [K in ProviderId]: ProviderDescriptor & { id: K } } = {
  anthropic: anthropic as ProviderDescriptor & { id: "anthropic" },
  openai: openai as ProviderDescriptor & { id: "openai" },
  "google-ai-studio": google as ProviderDescriptor & { id: "google-ai-studio" },
  compat: compat as ProviderDescriptor & { id: "compat" },
  groq: groq as ProviderDescriptor & { id: "groq" },
  bedrock: bedrock as ProviderDescriptor & { id: "bedrock" },
  vertex: vertex as ProviderDescriptor & { id: "vertex" },
  "azure-openai": azureOpenai as ProviderDescriptor & { id: "azure-openai" },
};

/** The one provider registry: routes, discovery, pricing, policy and the docs read this list. */
export const providers: readonly ProviderDescriptor[] = Object.values(byId);

export function providerById(id: ProviderId): ProviderDescriptor {
  const descriptor = byId[id];
  if (!descriptor) throw new Error(`Unknown provider ${String(id)}`);
  return descriptor;
}

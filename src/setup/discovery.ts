import { z } from "zod";

/**
 * What `gatehouse setup` needs from the gateway's discovery document (`GET
 * /.well-known/opencode`, the one OpenCode reads): each provider's route and models, the org's
 * default model and whitelists. Parsed loosely (unknown fields pass) so a newer gateway's
 * document still sets up an older CLI; it never carries a provider key, so nothing here can.
 */
const providerSchema = z.looseObject({
  // region / location: a cloud route's (Bedrock's AWS region, Vertex's location), never a credential.
  options: z.looseObject({ baseURL: z.url(), region: z.string().optional(), location: z.string().optional() }),
  models: z.record(z.string(), z.unknown()).optional(),
  whitelist: z.array(z.string()).optional(),
});
export const discoverySchema = z.looseObject({
  config: z.looseObject({
    provider: z.record(z.string(), providerSchema).default({}),
    model: z.string().optional(),
    small_model: z.string().optional(),
  }),
});
export type DiscoveryDocument = z.infer<typeof discoverySchema>;

/** A client family the gateway serves: where its SDK's base URL points, and which models it may use. */
export interface ClientRoute {
  /** The base URL the client's own variable wants (see each client's page in docs/clients/). */
  baseUrl: string;
  /** The model the client should default to: the org's default when it is this provider's, else the first whitelisted one; undefined leaves the client's own default. */
  defaultModel: string | undefined;
  models: string[];
}

export interface GatewayRoutes {
  anthropic?: ClientRoute;
  openai?: ClientRoute;
  google?: ClientRoute;
}

/** Discovery names providers by their OpenCode ids; the served base URLs are what the AI SDK wants. */
const CLIENT_BASE: Record<keyof GatewayRoutes, (opencodeBaseUrl: string) => string> = {
  // Claude Code's ANTHROPIC_BASE_URL is the origin the SDK appends /v1/messages to.
  anthropic: (url) => url.replace(/\/v1\/?$/, ""),
  // Codex's base_url / openai_base_url includes /v1.
  openai: (url) => url.replace(/\/+$/, ""),
  // Gemini CLI's GOOGLE_GEMINI_BASE_URL is the origin before the API version (the SDK adds /v1beta).
  google: (url) => url.replace(/\/v1(?:beta|alpha)?\/?$/, ""),
};

export function gatewayRoutes(document: DiscoveryDocument): GatewayRoutes {
  const routes: GatewayRoutes = {};
  const [defaultProvider, ...rest] = (document.config.model ?? "").split("/");
  const orgDefault = rest.join("/");
  for (const id of Object.keys(CLIENT_BASE) as Array<keyof GatewayRoutes>) {
    const provider = document.config.provider[id];
    if (!provider) continue;
    const models = Object.keys(provider.models ?? {});
    const defaultModel = defaultProvider === id && orgDefault ? orgDefault : provider.whitelist?.[0];
    routes[id] = { baseUrl: CLIENT_BASE[id](provider.options.baseURL), defaultModel, models };
  }
  return routes;
}

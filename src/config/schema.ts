import { z } from "zod";
import { ENABLEABLE_OBJECT_KINDS, PROVIDER_IDS, type ProviderId } from "../providers/ids.ts";
import { AWS_REGION } from "../providers/bedrock.ts";
import { GCP_LOCATION, GCP_PROJECT } from "../providers/vertex.ts";
import { COMPAT_UPSTREAM_NAME, RESERVED_COMPAT_UPSTREAM_NAMES } from "../providers/compat-upstreams.ts";
import { AZURE_RESOURCE } from "../providers/azure-openai.ts";
import { DEPLOYMENT_NAME } from "../providers/deployments.ts";
import { AI_GATEWAY_DEFAULT_BASE, AI_GATEWAY_OWN_HEADERS } from "../providers/ai-gateway.ts";
import { providerById } from "../providers/registry.ts";
import { policySchema } from "./policy-schema.ts";
import { mcpServersSchema } from "./mcp-schema.ts";
import { knowledgeConfigSchema } from "./knowledge-schema.ts";
import { bodyCaptureSchema } from "./capture-schema.ts";
import { agentSchema, commandSchema, modelRefSchema, opencodeModelSchema, permissionSchema } from "./opencode-schema.ts";

/**
 * The organisation config: what `gatehouse config build <dir>` compiles and the gateway
 * serves. Never holds a secret: provider keys are referenced by the name of an env var
 * (or a key of the secrets file) and resolved server-side at start.
 */
export const providerIdSchema = z.enum(PROVIDER_IDS).describe("Gateway provider route id.");
export type { ProviderId };

export const modelPriceSchema = z
  .object({
    input: z.number().min(0).describe("USD per million uncached input tokens."),
    output: z.number().min(0).describe("USD per million output tokens."),
    cacheRead: z.number().min(0).optional().describe("USD per million cache-read tokens."),
    cacheWrite: z.number().min(0).optional().describe("USD per million 5-minute cache-write tokens."),
    cacheWrite1h: z.number().min(0).optional().describe("USD per million 1-hour cache-write tokens."),
    reasoning: z.number().min(0).optional().describe("USD per million reasoning tokens, when billed apart from output."),
  })
  .strict();

const CREDENTIAL_HEADER_NAMES = new Set(["authorization", "x-api-key", "x-goog-api-key", "api-key", "cookie", "proxy-authorization"]);

export const passThroughSchema = z
  .object({
    method: z.enum(["GET", "POST", "PATCH", "DELETE"]).describe("HTTP method (TRACE, CONNECT and OPTIONS are never forwarded)."),
    path: z
      .string()
      .regex(/^(\/([A-Za-z0-9._~:@!$&'()*+,;=-]+|\{id\}))+$/, "must be a path after the route prefix, e.g. /v1/audio/transcriptions; {id} stands for one segment")
      .describe("Path after the provider's route prefix, e.g. /v1/audio/transcriptions; {id} matches one segment."),
  })
  .strict();

/** `providers.<id>.via`: the route's requests go through an intermediary instead of straight to the provider (docs/providers/cloudflare-ai-gateway.md). */
export const viaSchema = z
  .object({
    cloudflareAiGateway: z
      .object({
        accountId: z
          .string()
          .regex(/^[0-9a-f]{32}$/, "must be a Cloudflare account id: 32 lower-case hex characters (dashboard → Account home → Account ID)")
          .describe("Cloudflare account id that owns the AI Gateway."),
        gatewayId: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be the AI Gateway's name (id): 1-64 letters, digits, - or _")
          .describe("The AI Gateway's id (its name in the dashboard)."),
        tokenEnv: z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name")
          .describe("Name of the env var (or secrets-file key) holding the AI Gateway token sent as cf-aig-authorization: Bearer …; never the token itself."),
        byok: z.boolean().default(false).describe("true: AI Gateway adds the provider key it stores (BYOK, Provider Keys); Gatehouse sends none and needs none configured. false: the provider key is injected as on a direct route."),
        baseUrl: z.url().default(AI_GATEWAY_DEFAULT_BASE).describe("AI Gateway's base URL, before the account id (tests point it at a local fake)."),
      })
      .strict()
      .describe("Cloudflare AI Gateway: requests go to {baseUrl}/{accountId}/{gatewayId}/{provider}/… with cf-aig-authorization and the caller's anonymous id in cf-aig-metadata."),
  })
  .strict();

const providerFields = z
  .object({
    upstream: z.url().optional().describe("Base URL requests are forwarded to; defaults to the provider's public API."),
    apiKeyEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name")
      .optional()
      .describe("Name of the env var (or secrets-file key) holding the provider key."),
    keys: z
      .array(
        z
          .object({
            name: z
              .string()
              .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be a short name (letters, digits, . _ -): it is logged and metered, the value never is")
              .describe("The key's name, shown in /metrics, the logs and the ledger's key_name."),
            env: z
              .string()
              .regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name")
              .describe("Name of the env var (or secrets-file key) holding this key's value."),
            weight: z.number().positive().default(1).describe("Share of requests this key gets among the healthy keys."),
            requestsPerMinute: z.number().int().positive().optional().describe("Requests per minute this key may start; over it the next key serves."),
          })
          .strict(),
      )
      .min(1)
      .optional()
      .refine((keys) => keys === undefined || new Set(keys.map((k) => k.name)).size === keys.length, "key names must be unique")
      .describe("A key pool (docs/providers/key-pools.md): several keys, weighted; a 429 or 5xx cools a key down (for its retry-after) and the next key serves the same request. Replaces apiKeyEnv."),
    catalogProvider: z.string().optional().describe("models.dev provider id used for prices and the model list (compat: e.g. cloudflare-workers-ai)."),
    name: z.string().min(1).optional().describe("Name OpenCode shows for this provider (useful for compat)."),
    models: z.record(z.string().min(1), opencodeModelSchema).optional().describe("Models to add to (or override in) the catalog's list, by model id; compat servers usually need this."),
    whitelist: z.array(z.string().min(1)).optional().describe("If set, only these model ids are offered to clients."),
    zeroDataRetention: z.boolean().default(false).describe("Ask the provider not to store prompts: OpenAI models are served with store: false."),
    passThrough: z.array(passThroughSchema).default([]).describe("Endpoints forwarded although Gatehouse does not declare them (docs/security.md): unread, unmetered, with the org key; only callers who may use the provider."),
    objects: z
      .object({
        allow: z.array(z.enum(ENABLEABLE_OBJECT_KINDS)).default([]).describe("Provider-side object kinds callers may create; each object is visible only to its creator and the admin groups."),
        adminGroups: z.array(z.string().min(1)).default([]).describe("Groups that may list, read and delete every caller's objects."),
      })
      .strict()
      .default({ allow: [], adminGroups: [] })
      .describe("Provider-side objects (files, batches). Denied by default: they are kept under the org's key and would otherwise be shared by every caller."),
    region: z.string().regex(AWS_REGION, "must be an AWS region such as us-east-1").optional().describe("bedrock: the AWS region whose Bedrock runtime endpoint serves requests (and signs them), e.g. us-east-1."),
    project: z.string().regex(GCP_PROJECT, "must be a Google Cloud project id (6-30 of a-z, 0-9, -)").optional().describe("vertex: the Google Cloud project billed; it replaces the project in every client's path."),
    location: z.string().regex(GCP_LOCATION, "must be a Vertex AI location such as us-east5, europe-west1 or global").optional().describe("vertex: the Vertex AI location (default global); it replaces the location in every client's path."),
    resource: z
      .string()
      .regex(AZURE_RESOURCE, "must be an Azure resource name (lower-case letters, digits and -), the <resource> of https://<resource>.openai.azure.com")
      .optional()
      .describe("azure-openai: the Azure OpenAI resource name; requests go to https://<resource>.openai.azure.com (upstream, when set, wins)."),
    deployments: z
      .record(z.string().regex(DEPLOYMENT_NAME, "deployment names are letters, digits, . _ - (at most 64)"), z.string().min(1))
      .optional()
      .describe("azure-openai: each deployment clients may call and the models.dev azure model id it serves (e.g. chat-prod: gpt-4o); a deployment not listed is refused, as the gateway could not price it."),
    pinHeaders: z
      .record(z.string().regex(/^[a-z0-9-]+$/, "header names are lower-case"), z.string().min(1))
      .default({})
      .refine((headers) => !Object.keys(headers).some((name) => CREDENTIAL_HEADER_NAMES.has(name)), "credential headers cannot be pinned here; use apiKeyEnv")
      .refine(
        (headers) => !Object.keys(headers).some((name) => (AI_GATEWAY_OWN_HEADERS as readonly string[]).includes(name)),
        "cf-aig-authorization and cf-aig-metadata are set by Gatehouse (use via.cloudflareAiGateway.tokenEnv); other cf-aig-* headers (cache, logging, cost) may be pinned",
      )
      .describe("Headers set on every upstream request, replacing the client's (e.g. openai-project: proj_…, or cf-aig-cache-ttl: 3600 via AI Gateway); clients can never choose these."),
    via: viaSchema.optional().describe("Send this route's requests through an intermediary: { cloudflareAiGateway: { accountId, gatewayId, tokenEnv, byok } }."),
  })
  .strict();

/**
 * One named OpenAI-compatible upstream under `providers.compat.upstreams`: its own server,
 * key (or key pool), catalog provider and models. It inherits nothing key-related from the
 * unnamed default: an upstream without `apiKeyEnv` or `keys` gets no key.
 */
export const namedCompatUpstreamSchema = providerFields
  .pick({ apiKeyEnv: true, keys: true, catalogProvider: true, name: true, models: true, whitelist: true, pinHeaders: true })
  .extend({ upstream: z.url().describe("Base URL of this OpenAI-compatible server, e.g. http://10.0.0.5:8000/v1 (vLLM) or https://api.deepseek.com/v1.") })
  .strict();

export const upstreamProviderSchema = providerFields
  .extend({
    upstreams: z
      .record(
        z
          .string()
          .regex(COMPAT_UPSTREAM_NAME, "must be a short lower-case name (a-z, 0-9, -; at most 32 characters, starting with a letter or digit)")
          .refine((name) => !RESERVED_COMPAT_UPSTREAM_NAMES.includes(name), `must not be one of ${RESERVED_COMPAT_UPSTREAM_NAMES.join(", ")} (the first segments of /compat's own paths)`),
        namedCompatUpstreamSchema,
      )
      .optional()
      .describe("compat only: named OpenAI-compatible upstreams (docs/providers/compat.md). Model <name>/<model> on /compat/v1, or /compat/<name>/v1 with the bare model, goes to upstream <name>; the ledger's model is <name>/<model>."),
  })
  .strict();

export const orgConfigSchema = z
  .object({
    providers: z
      .partialRecord(providerIdSchema, upstreamProviderSchema)
      .default({})
      .superRefine((providers, ctx) => {
        // A cloud route cannot reach anything without its account: refused at load, not per request.
        if (providers.bedrock && providers.bedrock.region === undefined) ctx.addIssue({ code: "custom", path: ["bedrock", "region"], message: "bedrock needs region: the AWS region of its Bedrock runtime endpoint, e.g. us-east-1" });
        for (const [id, config] of Object.entries(providers)) {
          if (id !== "compat" && config?.upstreams !== undefined) ctx.addIssue({ code: "custom", path: [id, "upstreams"], message: "upstreams (named OpenAI-compatible servers) exist only under providers.compat" });
          // `/compat/<name>/…` and a pass-through root of the same name would be one path read two ways.
          for (const name of Object.keys(config?.upstreams ?? {})) {
            if (config?.passThrough.some((entry) => entry.path.split("/")[1] === name))
              ctx.addIssue({ code: "custom", path: [id, "upstreams", name], message: `the upstream name "${name}" is also the first segment of a passThrough path: rename the upstream` });
          }
          // Named upstreams go straight to their own servers; half a route through AI Gateway would be a surprise.
          if (id === "compat" && config?.upstreams !== undefined && config.via !== undefined)
            ctx.addIssue({ code: "custom", path: [id, "via"], message: "via (Cloudflare AI Gateway) cannot be combined with named compat upstreams: named upstreams are called directly; drop via, or the upstreams" });
        }
        if (providers.vertex && providers.vertex.project === undefined) ctx.addIssue({ code: "custom", path: ["vertex", "project"], message: "vertex needs project: the Google Cloud project id whose Vertex AI is used" });
        const azure = providers["azure-openai"];
        // Via AI Gateway, upstream is refused and resource alone is asked for (checkVia).
        if (azure && azure.resource === undefined && azure.upstream === undefined && azure.via?.cloudflareAiGateway === undefined)
          ctx.addIssue({ code: "custom", path: ["azure-openai", "resource"], message: "azure-openai needs resource (the <resource> of https://<resource>.openai.azure.com) or upstream" });
        // The paths clients send start with /openai/…: a base that ends in /openai would send /openai/openai/….
        if (azure?.upstream !== undefined && /\/openai\/?$/.test(new URL(azure.upstream).pathname))
          ctx.addIssue({ code: "custom", path: ["azure-openai", "upstream"], message: "azure-openai upstream is the resource's origin, e.g. https://my-resource.openai.azure.com, without /openai" });
        for (const [id, provider] of Object.entries(providers)) {
          if (id === "azure-openai" || !provider) continue;
          for (const field of ["resource", "deployments"] as const) if (provider[field] !== undefined) ctx.addIssue({ code: "custom", path: [id, field], message: `${field} is an azure-openai setting; ${id} does not read it` });
        }
        for (const [id, config] of Object.entries(providers)) checkVia(id as ProviderId, config, ctx);
      })
      .describe("Providers served by this gateway."),
    pricing: z
      .record(z.string().regex(/^[a-z0-9-]+\/.+$/, "key must be provider/model"), modelPriceSchema)
      .default({})
      .describe("Per-model price overrides, keyed provider/model; win over the catalog."),
    policy: policySchema.optional().describe("Governance (see docs/governance.md); absent = every authenticated caller may use everything."),
    model: modelRefSchema.optional().describe(`Default model served to OpenCode, as provider/model (gateway provider ids, as in policy: ${PROVIDER_IDS.join(", ")}).`),
    small_model: modelRefSchema.optional().describe("Small model for titles and summaries, as provider/model."),
    permission: permissionSchema.optional().describe("Default tool permissions served to OpenCode; a developer's local config still wins."),
    instructions: z.array(z.string().min(1)).optional().describe("Instruction files or URLs OpenCode adds to every session (e.g. AGENTS.md)."),
    mcp: mcpServersSchema,
    bodyCapture: bodyCaptureSchema.optional().describe("Body capture for the dashboard's request log; absent = off (see docs/dashboard.md#body-capture)."),
    knowledge: knowledgeConfigSchema.optional().describe("Service catalog sources (local checkouts, GitHub, GitLab, Backstage) and their refresh (see docs/knowledge.md)."),
    agent: z
      .record(z.string().regex(/^[a-z0-9][a-z0-9/_-]*$/i, "agent names use letters, digits, -, _ and /"), agentSchema)
      .default({})
      .describe("Agents by name; compiled from agents/*.md."),
    command: z
      .record(z.string().regex(/^[a-z0-9][a-z0-9/_-]*$/i, "command names use letters, digits, -, _ and /"), commandSchema)
      .default({})
      .describe("Commands by name; compiled from commands/*.md."),
  })
  .strict();

/** A route via AI Gateway must be one Cloudflare documents, with nothing that contradicts it. */
function checkVia(id: ProviderId, config: z.infer<typeof upstreamProviderSchema> | undefined, ctx: z.RefinementCtx): void {
  const via = config?.via?.cloudflareAiGateway;
  if (!config || !via) return;
  const path = [id, "via", "cloudflareAiGateway"];
  const route = providerById(id).aiGateway;
  if (!route) {
    ctx.addIssue({ code: "custom", path, message: `${id} cannot go via Cloudflare AI Gateway: Cloudflare documents no AI Gateway endpoint for it; remove via` });
    return;
  }
  if (config.upstream !== undefined) ctx.addIssue({ code: "custom", path: [id, "upstream"], message: `${id} goes via Cloudflare AI Gateway, whose URL replaces upstream: remove upstream (or via)` });
  // AI Gateway's Azure path names the resource (azure-openai/{resource}/{deployment}/…): without it nothing can be sent.
  if (route.path === "azure-resource-deployment" && config.resource === undefined)
    ctx.addIssue({ code: "custom", path: [id, "resource"], message: `${id} via Cloudflare AI Gateway needs resource (the <resource> of https://<resource>.openai.azure.com): AI Gateway's URL names it, azure-openai/{resource}/{deployment}/…` });
  if (via.byok && !route.byok) ctx.addIssue({ code: "custom", path: [...path, "byok"], message: `${id} cannot use AI Gateway's stored keys (BYOK): Cloudflare documents only caller-made credentials for ${route.slug}; set byok: false` });
  if (via.byok && config.keys !== undefined) ctx.addIssue({ code: "custom", path: [id, "keys"], message: `${id} uses AI Gateway's stored key (byok: true), so a key pool here would never be sent: remove keys (or set byok: false)` });
}

export type OrgConfig = z.infer<typeof orgConfigSchema>;
export type UpstreamProviderConfig = z.infer<typeof upstreamProviderSchema>;
export type NamedCompatUpstreamConfig = z.infer<typeof namedCompatUpstreamSchema>;

import { z } from "zod";
import { policySchema } from "../policy/config.ts";
import { mcpServersSchema } from "../mcp/config-schema.ts";
import { agentSchema, commandSchema, modelRefSchema, opencodeModelSchema, permissionSchema } from "./opencode-schema.ts";

/**
 * The organisation config: what `gatehouse config build <dir>` compiles and the gateway
 * serves. Never holds a secret: provider keys are referenced by the name of an env var
 * (or a key of the secrets file) and resolved server-side at start.
 */
export const providerIdSchema = z.enum(["anthropic", "openai", "google-ai-studio", "compat"]).describe("Gateway provider route id.");
export type ProviderId = z.infer<typeof providerIdSchema>;

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

export const upstreamProviderSchema = z
  .object({
    upstream: z.url().optional().describe("Base URL requests are forwarded to; defaults to the provider's public API."),
    apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name").optional().describe("Name of the env var (or secrets-file key) holding the provider key."),
    catalogProvider: z.string().optional().describe("models.dev provider id used for prices and the model list (compat: e.g. cloudflare-workers-ai)."),
    name: z.string().min(1).optional().describe("Name OpenCode shows for this provider (useful for compat)."),
    models: z.record(z.string().min(1), opencodeModelSchema).optional().describe("Models to add to (or override in) the catalog's list, by model id; compat servers usually need this."),
    whitelist: z.array(z.string().min(1)).optional().describe("If set, only these model ids are offered to clients."),
    zeroDataRetention: z.boolean().default(false).describe("Ask the provider not to store prompts: OpenAI models are served with store: false."),
  })
  .strict();

export const orgConfigSchema = z
  .object({
    providers: z.partialRecord(providerIdSchema, upstreamProviderSchema).default({}).describe("Providers served by this gateway."),
    pricing: z.record(z.string().regex(/^[a-z0-9-]+\/.+$/, "key must be provider/model"), modelPriceSchema).default({}).describe("Per-model price overrides, keyed provider/model; win over the catalog."),
    policy: policySchema.optional().describe("Governance (see docs/governance.md); absent = every authenticated caller may use everything."),
    model: modelRefSchema.optional().describe("Default model served to OpenCode, as provider/model (OpenCode ids: anthropic, openai, google, compat)."),
    small_model: modelRefSchema.optional().describe("Small model for titles and summaries, as provider/model."),
    permission: permissionSchema.optional().describe("Default tool permissions served to OpenCode; a developer's local config still wins."),
    instructions: z.array(z.string().min(1)).optional().describe("Instruction files or URLs OpenCode adds to every session (e.g. AGENTS.md)."),
    mcp: mcpServersSchema,
    agent: z.record(z.string().regex(/^[a-z0-9][a-z0-9/_-]*$/i, "agent names use letters, digits, -, _ and /"), agentSchema).default({}).describe("Agents by name; compiled from agents/*.md."),
    command: z.record(z.string().regex(/^[a-z0-9][a-z0-9/_-]*$/i, "command names use letters, digits, -, _ and /"), commandSchema).default({}).describe("Commands by name; compiled from commands/*.md."),
  })
  .strict();

export type OrgConfig = z.infer<typeof orgConfigSchema>;
export type UpstreamProviderConfig = z.infer<typeof upstreamProviderSchema>;

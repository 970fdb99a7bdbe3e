import { z } from "zod";

/**
 * The parts of OpenCode's config (https://opencode.ai/config.json, opencode-ai 1.18) that
 * Gatehouse compiles and serves, mirrored in zod so a compiled config is checked against
 * what the client accepts before it is served. Keys and enums follow OpenCode's own schema.
 */
export const permissionActionSchema = z.enum(["allow", "ask", "deny"]).describe("What OpenCode does before using a tool: run it, ask the user, or refuse.");

/** A per-tool rule: one action, or actions by glob (bash commands, paths), e.g. `{ "*": ask, "git status": allow }`. */
export const permissionRuleSchema = z.union([permissionActionSchema, z.record(z.string().min(1), permissionActionSchema)]);

export const permissionSchema = z
  .union([permissionActionSchema, z.record(z.string().regex(/^[a-z_*][a-z0-9_*-]*$/i, "must be a tool name such as edit, bash, webfetch"), permissionRuleSchema)])
  .describe("Default tool permissions: one action for every tool, or per tool (read, edit, bash, webfetch, external_directory…).");

/** "provider/model", the way OpenCode names a model. */
export const modelRefSchema = z.string().regex(/^[a-z0-9][a-z0-9-]*\/.+$/, 'must be "provider/model", e.g. anthropic/claude-sonnet-4-5');

export const agentSchema = z
  .object({
    description: z.string().min(1).max(1024).optional().describe("When to use this agent; shown in @-completion and used by primary agents to delegate."),
    mode: z.enum(["subagent", "primary", "all"]).optional().describe("primary (Tab to switch), subagent (@mention or delegated), or all."),
    model: modelRefSchema.optional().describe("Model as provider/model."),
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    steps: z.number().int().positive().optional().describe("Most agentic iterations before the agent must answer."),
    prompt: z.string().optional().describe("System prompt (the markdown body)."),
    permission: permissionSchema.optional(),
    tools: z.record(z.string(), z.boolean()).optional().describe("Deprecated in OpenCode in favour of permission; still accepted."),
    hidden: z.boolean().optional().describe("Hide a subagent from @-completion."),
    disable: z.boolean().optional(),
    color: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, "must be a hex colour like #ff8800")
      .optional(),
    options: z.record(z.string(), z.unknown()).optional().describe("Provider options passed through to the model."),
  })
  .strict();

export const commandSchema = z
  .object({
    template: z.string().min(1).describe("The prompt sent; $ARGUMENTS, $1… and !`shell` are expanded by OpenCode."),
    description: z.string().optional(),
    agent: z.string().optional().describe("Agent that runs the command."),
    model: modelRefSchema.optional(),
    subtask: z.boolean().optional().describe("Run as a subagent task, keeping the main context clean."),
  })
  .strict();

const modelLimitSchema = z.object({ context: z.number().int().positive(), output: z.number().int().positive() }).strict();

export const opencodeModelSchema = z
  .object({
    name: z.string().optional(),
    limit: modelLimitSchema.optional(),
    reasoning: z.boolean().optional(),
    tool_call: z.boolean().optional(),
    attachment: z.boolean().optional(),
    temperature: z.boolean().optional(),
    options: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const opencodeProviderSchema = z
  .object({
    npm: z.string().optional(),
    name: z.string().optional(),
    whitelist: z.array(z.string()).optional(),
    models: z.record(z.string(), opencodeModelSchema).optional(),
    options: z
      .object({
        baseURL: z.url(),
        apiKey: z.union([z.literal(""), z.literal("gatehouse")]).describe('Empty, or the placeholder "gatehouse" for SDKs that would otherwise sign with cloud credentials: the gateway token travels in headers, provider keys never leave the gateway.'),
        headers: z.record(z.string(), z.string()),
        project: z.string().optional(),
        location: z.string().optional(),
        /** Bedrock: the gateway's AWS region (@ai-sdk/amazon-bedrock's `region`; `gatehouse setup claude-code --bedrock` writes it as AWS_REGION). Not a secret. */
        region: z.string().optional(),
      })
      .strict(),
  })
  .strict();

export const opencodeMcpRemoteSchema = z
  .object({
    type: z.literal("remote"),
    url: z.url(),
    headers: z.record(z.string(), z.string()).optional(),
    enabled: z.boolean().optional(),
    oauth: z.literal(false).optional(),
    timeout: z.number().int().positive().optional(),
  })
  .strict();

/** The config object served in `/.well-known/opencode` (a subset of OpenCode's config). */
export const servedOpencodeConfigSchema = z
  .object({
    $schema: z.literal("https://opencode.ai/config.json"),
    provider: z.record(z.string(), opencodeProviderSchema),
    model: modelRefSchema.optional(),
    small_model: modelRefSchema.optional(),
    agent: z.record(z.string(), agentSchema).optional(),
    command: z.record(z.string(), commandSchema).optional(),
    permission: permissionSchema.optional(),
    mcp: z.record(z.string(), opencodeMcpRemoteSchema).optional(),
    instructions: z.array(z.string()).optional(),
  })
  .strict();

export type AgentConfig = z.infer<typeof agentSchema>;
export type CommandConfig = z.infer<typeof commandSchema>;
export type PermissionConfig = z.infer<typeof permissionSchema>;
export type OpencodeModel = z.infer<typeof opencodeModelSchema>;
export type ServedOpencodeConfig = z.infer<typeof servedOpencodeConfigSchema>;

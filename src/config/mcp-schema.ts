import { z } from "zod";

/**
 * The upstream MCP servers behind the portal, as written in the org config under `mcp`.
 * Server ids become tool prefixes (`{server}_{tool}`) and are split at the first `_`, so an
 * id may not contain one.
 */
export const mcpServerIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/, "Server ids use letters, digits and '-' only (no '_': tool names are split at the first '_').")
  .describe("Server id; becomes the prefix of every tool, prompt and resource name.");

/** An admin credential: the value of a secret (env var / secrets file) sent on every upstream request. */
export const adminCredentialSchema = z.union([
  z.string().min(1).describe("Name of the secret holding a bearer token, sent as `Authorization: Bearer <value>`."),
  z
    .object({
      secret: z.string().min(1).describe("Name of the secret (env var or secrets-file key) holding the credential."),
      header: z.string().min(1).default("authorization").describe("Header the credential is sent in."),
      scheme: z.string().default("Bearer").describe("Prefix before the value; empty for a raw API key header."),
    })
    .strict(),
]);

/** Per-user OAuth with the upstream: each user connects once; tokens are stored encrypted and refreshed. */
export const upstreamOAuthSchema = z
  .object({
    authorizationUrl: z.url().describe("The upstream's OAuth authorization endpoint."),
    tokenUrl: z.url().describe("The upstream's OAuth token endpoint."),
    clientId: z.string().min(1).describe("Client id the gateway is registered with at the upstream."),
    clientSecret: z.string().min(1).optional().describe("Name of the secret holding the client secret (confidential clients)."),
    scopes: z.array(z.string().min(1)).default([]).describe("Scopes to request."),
    resource: z.url().optional().describe("RFC 8707 resource indicator; defaults to the server url."),
  })
  .strict();

export const mcpServerSchema = z
  .object({
    type: z.enum(["http", "sse", "stdio"]).describe("`http` = Streamable HTTP (falls back to SSE), `sse` = legacy HTTP+SSE, `stdio` = a local process the gateway spawns (one per user unless `scope: shared`)."),
    url: z.url().optional().describe("Endpoint of an http or sse server."),
    command: z.string().min(1).optional().describe("Executable of a stdio server."),
    args: z.array(z.string()).default([]).describe("Arguments of a stdio server."),
    env: z.array(z.string().min(1)).default([]).describe("Names of env vars / secrets passed to a stdio server's environment (values never appear in config)."),
    auth: z
      .union([adminCredentialSchema, z.object({ oauth: upstreamOAuthSchema }).strict()])
      .optional()
      .describe("Upstream credential: an admin credential from the secrets, or per-user OAuth. The user's gateway token is never forwarded."),
    description: z.string().optional().describe("Shown by portal_list_servers and in Code Mode search results."),
    tools: z.array(z.string().min(1)).optional().describe("If set, only these upstream tools are exposed (names without the server prefix)."),
    timeoutMs: z.number().int().positive().default(60_000).describe("Per-request timeout towards this upstream."),
    scope: z
      .enum(["shared", "per-user"])
      .optional()
      .describe(
        "Upstream session scope. `per-user`: one upstream session (one process for stdio) per caller, so one user's session state (resources it creates, notes) never reaches another. `shared`: one for everyone. Default: per-user for stdio, for per-user OAuth, and for http/sse servers whose initialize declares resources; shared otherwise.",
      ),
    perUser: z
      .object({
        idleMs: z
          .number()
          .int()
          .positive()
          .default(10 * 60_000)
          .describe("A per-user upstream session (or process) unused this long is closed."),
        max: z.number().int().positive().default(50).describe("Per-user upstream sessions (processes) of this server at once; past it the least recently used idle one is closed, and when none is idle a new caller is refused."),
      })
      .strict()
      .default({ idleMs: 10 * 60_000, max: 50 }),
    userEnv: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "Env var names use letters, digits and '_'."), z.string())
      .default({})
      .describe("Env vars set for a per-user stdio process; `{user}` in a value becomes an opaque per-caller key (hex), e.g. MEMORY_FILE_PATH: /var/lib/gatehouse/memory/{user}.jsonl."),
    maxArgumentBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024)
      .describe("Largest tool-call arguments (as JSON) sent to this upstream; a larger call is refused before it reaches the server."),
    audit: z
      .object({
        arguments: z.boolean().default(false).describe("Store tool-call arguments in the audit log."),
        results: z.boolean().default(false).describe("Store tool-call results in the audit log."),
      })
      .strict()
      .default({ arguments: false, results: false }),
  })
  .strict()
  .superRefine((server, ctx) => {
    if (server.type === "stdio" && !server.command) ctx.addIssue({ code: "custom", path: ["command"], message: "A stdio server needs `command`." });
    if (server.type !== "stdio" && !server.url) ctx.addIssue({ code: "custom", path: ["url"], message: `A ${server.type} server needs \`url\`.` });
    if (server.type === "stdio" && server.auth && typeof server.auth === "object" && "oauth" in server.auth) ctx.addIssue({ code: "custom", path: ["auth"], message: "Per-user OAuth needs an http or sse server; a stdio server gets its secrets from `env`." });
    if (server.scope === "shared" && server.auth && typeof server.auth === "object" && "oauth" in server.auth) ctx.addIssue({ code: "custom", path: ["scope"], message: "A server with per-user OAuth is always per-user; remove `scope: shared`." });
    if (Object.keys(server.userEnv).length > 0 && (server.type !== "stdio" || server.scope === "shared")) ctx.addIssue({ code: "custom", path: ["userEnv"], message: "`userEnv` applies to per-user stdio servers only." });
  });

/** Prefixes the portal uses for its own tools (`portal_list_servers`, `codemode_search`…). */
export const RESERVED_SERVER_IDS = ["portal", "codemode"] as const;

export const mcpServersSchema = z
  .record(
    mcpServerIdSchema.refine((id) => !(RESERVED_SERVER_IDS as readonly string[]).includes(id), { message: `Server ids ${RESERVED_SERVER_IDS.join(", ")} are reserved for the portal's own tools.` }),
    mcpServerSchema,
  )
  .default({})
  .describe("Upstream MCP servers behind /mcp, by server id.");

export type McpServerConfig = z.infer<typeof mcpServerSchema>;
export type McpServersConfig = z.infer<typeof mcpServersSchema>;
export type AdminCredential = z.infer<typeof adminCredentialSchema>;
export type UpstreamOAuthConfig = z.infer<typeof upstreamOAuthSchema>;

export function usesOAuth(server: McpServerConfig): server is McpServerConfig & { auth: { oauth: UpstreamOAuthConfig } } {
  return typeof server.auth === "object" && server.auth !== null && "oauth" in server.auth;
}

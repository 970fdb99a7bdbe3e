import { z } from "zod";

/**
 * Process settings: where to listen, where the store lives, how callers authenticate.
 * Parsed once at start from environment variables (GATEHOUSE_*) and CLI flags; an invalid
 * value stops the process with a message naming the variable. Organisation config
 * (providers, agents, policy…) is separate: see config/.
 */
/** OTEL_EXPORTER_OTLP_HEADERS: `key=value` pairs separated by commas (the W3C Baggage format the OTLP spec names). */
const OTLP_HEADERS = /^\s*[^\s=,]+\s*=[^,]*(,\s*[^\s=,]+\s*=[^,]*)*$/;
const OTLP_HEADERS_MESSAGE = "must be key=value pairs separated by commas, e.g. x-api-key=abc,x-team=ops";
const OTLP_PROTOCOL_MESSAGE = "Gatehouse exports OTLP over HTTP (http/json); grpc is not supported: point the endpoint at the collector's OTLP/HTTP port (4318) and set http/json";

export const settingsSchema = z.object({
  host: z.string().min(1).default("127.0.0.1").describe("Interface to bind (GATEHOUSE_HOST)."),
  port: z.coerce.number().int().min(0).max(65535).default(8787).describe("TCP port (GATEHOUSE_PORT)."),
  publicUrl: z
    .url()
    .optional()
    .describe("Public origin of the gateway, the only origin used in served documents (OpenCode config, OAuth metadata, sign-in redirect); required in jwt and oidc modes; dev mode without it uses the loopback request origin (GATEHOUSE_PUBLIC_URL)."),
  dataDir: z.string().min(1).default("./.gatehouse").describe("Directory for the embedded SQLite database and local state (GATEHOUSE_DATA_DIR)."),
  databaseUrl: z.string().optional().describe("postgres://… to use PostgreSQL instead of the embedded SQLite (DATABASE_URL)."),
  configDir: z.string().optional().describe("Organisation config directory (providers, agents, commands, policy) (GATEHOUSE_CONFIG)."),
  secretsFile: z.string().optional().describe('JSON file of provider keys, {"ANTHROPIC_API_KEY": "…"}; env vars win (GATEHOUSE_SECRETS_FILE).'),
  logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info").describe("Log level (GATEHOUSE_LOG_LEVEL)."),
  authMode: z.enum(["dev", "jwt", "oidc"]).default("dev").describe("How callers authenticate (GATEHOUSE_AUTH_MODE)."),
  devToken: z.string().min(16, "GATEHOUSE_DEV_TOKEN must be at least 16 characters").optional().describe("Static token accepted in dev mode (GATEHOUSE_DEV_TOKEN)."),
  maxRequestBodyBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(32 * 1024 * 1024)
    .describe("Largest request body accepted (GATEHOUSE_MAX_BODY_BYTES); Anthropic's own limit is 32 MB."),
  userIdHeader: z
    .string()
    .regex(/^[a-z0-9-]+$/, "must be a lower-case header name")
    .default("x-gatehouse-user-id")
    .describe("Header that carries the caller's anonymous id to every upstream (GATEHOUSE_USER_ID_HEADER)."),
  upstreamHeaderTimeoutMs: z.coerce.number().int().positive().default(300_000).describe("How long to wait for an upstream's response headers (GATEHOUSE_UPSTREAM_TIMEOUT_MS)."),
  // Timeouts and fair use of shared capacity (see docs/gateway.md, "Timeouts and fair use").
  upstreamIdleTimeoutMs: z.coerce.number().int().positive().default(300_000).describe("Longest silence from an upstream once its headers arrived, before the stream is ended with the provider's error event (GATEHOUSE_UPSTREAM_IDLE_TIMEOUT_MS)."),
  clientWriteTimeoutMs: z.coerce.number().int().positive().default(60_000).describe("Longest time a write to a client may stay blocked (a client that stopped reading) before the request is ended (GATEHOUSE_CLIENT_WRITE_TIMEOUT_MS)."),
  requestBodyTimeoutMs: z.coerce.number().int().positive().default(60_000).describe("Deadline for the whole request body to arrive; past it the answer is 408 (GATEHOUSE_REQUEST_BODY_TIMEOUT_MS)."),
  maxConcurrentPerCaller: z.coerce.number().int().positive().default(64).describe("Upstream requests one caller may have in flight at once; more get 429 (GATEHOUSE_MAX_CONCURRENT_PER_CALLER)."),
  upstreamMaxSockets: z.coerce.number().int().positive().default(1024).describe("Upstream connections per provider origin (the keep-alive pool); requests past it wait for a free one (GATEHOUSE_UPSTREAM_MAX_SOCKETS)."),
  catalogUrl: z.url().default("https://models.dev/api.json").describe("models.dev catalog URL (GATEHOUSE_CATALOG_URL)."),
  catalogRefreshMs: z.coerce.number().int().min(0).default(3_600_000).describe("Catalog refresh interval; 0 disables the refresh (GATEHOUSE_CATALOG_REFRESH_MS)."),
  ledgerFlushMs: z.coerce.number().int().positive().default(250).describe("Ledger batch flush interval (GATEHOUSE_LEDGER_FLUSH_MS)."),
  ledgerBatchSize: z.coerce.number().int().positive().default(500).describe("Rows per ledger insert (GATEHOUSE_LEDGER_BATCH)."),
  // Store faults (see docs/deploy.md, "When the store fails").
  ledgerMemoryRows: z.coerce.number().int().positive().default(10_000).describe("Ledger rows kept in memory while the store is failing; past it they spill to <data-dir>/ledger-spool (GATEHOUSE_LEDGER_MEMORY_ROWS)."),
  ledgerSpoolMb: z.coerce.number().int().min(0).default(1024).describe("Bound on the ledger spool on disk in MB; past it rows are dropped, logged and counted in /metrics (GATEHOUSE_LEDGER_SPOOL_MB)."),
  drainMs: z.coerce.number().int().min(0).default(25_000).describe("On SIGTERM, how long in-flight requests may take to finish before their connections are closed (GATEHOUSE_DRAIN_MS)."),
  shutdownFlushMs: z.coerce.number().int().min(0).default(5_000).describe("On SIGTERM, how long the ledger may take to reach the store after the drain; unwritten rows are spooled for the next start (GATEHOUSE_SHUTDOWN_FLUSH_MS)."),
  reservationLeaseMs: z.coerce
    .number()
    .int()
    .min(3_000)
    .default(15_000)
    .describe("PostgreSQL: how long an instance's budget reservations outlive its last heartbeat; a crashed instance's reservations are released within this bound (GATEHOUSE_RESERVATION_LEASE_MS)."),
  // Identity (see docs/identity.md).
  allowDevAuth: z.union([z.boolean(), z.stringbool()]).default(false).describe("Allow dev auth mode on a non-loopback address (GATEHOUSE_ALLOW_DEV_AUTH)."),
  jwtJwksUrl: z.url().optional().describe("jwt mode: JWKS URL of the identity-aware proxy, e.g. https://<team>.cloudflareaccess.com/cdn-cgi/access/certs (GATEHOUSE_JWT_JWKS_URL)."),
  jwtIssuer: z.string().min(1).optional().describe("jwt mode: required `iss` claim (GATEHOUSE_JWT_ISSUER)."),
  jwtAudience: z.string().min(1).optional().describe("jwt mode: required `aud` claim, e.g. the Access application AUD tag (GATEHOUSE_JWT_AUDIENCE)."),
  jwtAlgorithms: z.string().default("RS256,ES256").describe("jwt mode: comma-separated allowed signing algorithms; never HS*/none (GATEHOUSE_JWT_ALGORITHMS)."),
  jwksCooldownMs: z.coerce.number().int().min(0).default(10_000).describe("jwt mode: least time between two JWKS fetches triggered by an unknown kid (GATEHOUSE_JWKS_COOLDOWN_MS)."),
  jwtHeader: z
    .string()
    .regex(/^[a-z0-9-]+$/, "must be a lower-case header name")
    .optional()
    .describe("jwt mode: extra header the proxy puts its JWT in, checked first (GATEHOUSE_JWT_HEADER)."),
  jwtEmailClaim: z.string().min(1).default("email").describe("Claim holding the verified email (GATEHOUSE_JWT_EMAIL_CLAIM)."),
  jwtGroupsClaim: z.string().min(1).default("groups").describe("Claim holding the caller's groups (GATEHOUSE_JWT_GROUPS_CLAIM)."),
  oidcIssuer: z.url().optional().describe("oidc mode: issuer URL of the identity provider (GATEHOUSE_OIDC_ISSUER)."),
  oidcClientId: z.string().min(1).optional().describe("oidc mode: client id registered at the identity provider (GATEHOUSE_OIDC_CLIENT_ID)."),
  oidcClientSecret: z.string().min(1).optional().describe("oidc mode: client secret; omit for a public client using PKCE only (GATEHOUSE_OIDC_CLIENT_SECRET)."),
  oidcScopes: z.string().default("openid email profile").describe("oidc mode: scopes requested at the identity provider (GATEHOUSE_OIDC_SCOPES)."),
  tokenTtlSeconds: z.coerce
    .number()
    .int()
    .min(60)
    .default(7 * 24 * 3600)
    .describe("Lifetime of Gatehouse-issued tokens in seconds (GATEHOUSE_TOKEN_TTL)."),
  signingKeyFile: z.string().optional().describe("JWK file of the key Gatehouse signs its tokens with; generated on first use; default <data-dir>/signing-key.json (GATEHOUSE_SIGNING_KEY_FILE)."),
  revocationPollMs: z.coerce.number().int().min(100).default(3000).describe("How often the revocation list is re-read from the store (GATEHOUSE_REVOCATION_POLL_MS)."),
  loginCommand: z.string().optional().describe('JSON argv served as the OpenCode auth command, {baseURL} filled in; default ["gatehouse","login","{baseURL}"] (GATEHOUSE_LOGIN_COMMAND).'),
  tokenEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name")
    .default("GATEHOUSE_TOKEN")
    .describe("Variable name OpenCode stores the gateway token under (GATEHOUSE_TOKEN_ENV)."),
  // OpenTelemetry tracing (see docs/telemetry.md): the standard OTEL_* variables, off unless an endpoint is set.
  otelEndpoint: z.url().optional().describe("OTLP/HTTP base URL; spans go to <url>/v1/traces. Setting it (or the traces endpoint) turns tracing on (OTEL_EXPORTER_OTLP_ENDPOINT)."),
  otelTracesEndpoint: z.url().optional().describe("OTLP/HTTP traces URL, used as is; wins over OTEL_EXPORTER_OTLP_ENDPOINT (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)."),
  otelHeaders: z.string().regex(OTLP_HEADERS, OTLP_HEADERS_MESSAGE).optional().describe("Headers sent with every export, key=value pairs separated by commas, values percent-encoded (e.g. a collector's API key); never logged (OTEL_EXPORTER_OTLP_HEADERS)."),
  otelTracesHeaders: z.string().regex(OTLP_HEADERS, OTLP_HEADERS_MESSAGE).optional().describe("Headers for trace exports only, merged over OTEL_EXPORTER_OTLP_HEADERS (OTEL_EXPORTER_OTLP_TRACES_HEADERS)."),
  otelProtocol: z
    .enum(["http/json", "http/protobuf"], OTLP_PROTOCOL_MESSAGE)
    .optional()
    .describe("OTLP transport; Gatehouse exports OTLP/HTTP with JSON bodies, which every OTLP/HTTP receiver accepts, so http/protobuf is accepted and sends JSON; grpc is refused (OTEL_EXPORTER_OTLP_PROTOCOL)."),
  otelTracesProtocol: z.enum(["http/json", "http/protobuf"], OTLP_PROTOCOL_MESSAGE).optional().describe("As OTEL_EXPORTER_OTLP_PROTOCOL, for traces only (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)."),
  otelServiceName: z.string().min(1).default("gatehouse").describe("service.name of the exported spans (OTEL_SERVICE_NAME)."),
  otelSdkDisabled: z.union([z.boolean(), z.stringbool()]).default(false).describe("true turns tracing off even when an endpoint is set (OTEL_SDK_DISABLED)."),
  otelTracesSampler: z
    .enum(["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"])
    .default("parentbased_always_on")
    .describe("Which requests are traced; parentbased_* follow the client's sampled flag when it sent a traceparent (OTEL_TRACES_SAMPLER)."),
  otelTracesSamplerArg: z.coerce.number().min(0).max(1).default(1).describe("The ratio of traces kept by traceidratio and parentbased_traceidratio, 0 to 1 (OTEL_TRACES_SAMPLER_ARG)."),
  otelBspScheduleDelay: z.coerce.number().int().positive().default(5000).describe("Milliseconds between two span exports (OTEL_BSP_SCHEDULE_DELAY)."),
  otelBspMaxQueueSize: z.coerce.number().int().positive().default(2048).describe("Spans kept waiting for export; past it new spans are dropped rather than slow requests (OTEL_BSP_MAX_QUEUE_SIZE)."),
});

export type Settings = z.infer<typeof settingsSchema>;

const envNames: Record<keyof Settings, string> = {
  host: "GATEHOUSE_HOST",
  port: "GATEHOUSE_PORT",
  publicUrl: "GATEHOUSE_PUBLIC_URL",
  dataDir: "GATEHOUSE_DATA_DIR",
  databaseUrl: "DATABASE_URL",
  configDir: "GATEHOUSE_CONFIG",
  secretsFile: "GATEHOUSE_SECRETS_FILE",
  logLevel: "GATEHOUSE_LOG_LEVEL",
  authMode: "GATEHOUSE_AUTH_MODE",
  devToken: "GATEHOUSE_DEV_TOKEN",
  maxRequestBodyBytes: "GATEHOUSE_MAX_BODY_BYTES",
  userIdHeader: "GATEHOUSE_USER_ID_HEADER",
  upstreamHeaderTimeoutMs: "GATEHOUSE_UPSTREAM_TIMEOUT_MS",
  upstreamIdleTimeoutMs: "GATEHOUSE_UPSTREAM_IDLE_TIMEOUT_MS",
  clientWriteTimeoutMs: "GATEHOUSE_CLIENT_WRITE_TIMEOUT_MS",
  requestBodyTimeoutMs: "GATEHOUSE_REQUEST_BODY_TIMEOUT_MS",
  maxConcurrentPerCaller: "GATEHOUSE_MAX_CONCURRENT_PER_CALLER",
  upstreamMaxSockets: "GATEHOUSE_UPSTREAM_MAX_SOCKETS",
  catalogUrl: "GATEHOUSE_CATALOG_URL",
  catalogRefreshMs: "GATEHOUSE_CATALOG_REFRESH_MS",
  ledgerFlushMs: "GATEHOUSE_LEDGER_FLUSH_MS",
  ledgerBatchSize: "GATEHOUSE_LEDGER_BATCH",
  ledgerMemoryRows: "GATEHOUSE_LEDGER_MEMORY_ROWS",
  ledgerSpoolMb: "GATEHOUSE_LEDGER_SPOOL_MB",
  drainMs: "GATEHOUSE_DRAIN_MS",
  shutdownFlushMs: "GATEHOUSE_SHUTDOWN_FLUSH_MS",
  reservationLeaseMs: "GATEHOUSE_RESERVATION_LEASE_MS",
  allowDevAuth: "GATEHOUSE_ALLOW_DEV_AUTH",
  jwtJwksUrl: "GATEHOUSE_JWT_JWKS_URL",
  jwtIssuer: "GATEHOUSE_JWT_ISSUER",
  jwtAudience: "GATEHOUSE_JWT_AUDIENCE",
  jwtAlgorithms: "GATEHOUSE_JWT_ALGORITHMS",
  jwksCooldownMs: "GATEHOUSE_JWKS_COOLDOWN_MS",
  jwtHeader: "GATEHOUSE_JWT_HEADER",
  jwtEmailClaim: "GATEHOUSE_JWT_EMAIL_CLAIM",
  jwtGroupsClaim: "GATEHOUSE_JWT_GROUPS_CLAIM",
  oidcIssuer: "GATEHOUSE_OIDC_ISSUER",
  oidcClientId: "GATEHOUSE_OIDC_CLIENT_ID",
  oidcClientSecret: "GATEHOUSE_OIDC_CLIENT_SECRET",
  oidcScopes: "GATEHOUSE_OIDC_SCOPES",
  tokenTtlSeconds: "GATEHOUSE_TOKEN_TTL",
  signingKeyFile: "GATEHOUSE_SIGNING_KEY_FILE",
  revocationPollMs: "GATEHOUSE_REVOCATION_POLL_MS",
  loginCommand: "GATEHOUSE_LOGIN_COMMAND",
  tokenEnv: "GATEHOUSE_TOKEN_ENV",
  otelEndpoint: "OTEL_EXPORTER_OTLP_ENDPOINT",
  otelTracesEndpoint: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  otelHeaders: "OTEL_EXPORTER_OTLP_HEADERS",
  otelTracesHeaders: "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
  otelProtocol: "OTEL_EXPORTER_OTLP_PROTOCOL",
  otelTracesProtocol: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
  otelServiceName: "OTEL_SERVICE_NAME",
  otelSdkDisabled: "OTEL_SDK_DISABLED",
  otelTracesSampler: "OTEL_TRACES_SAMPLER",
  otelTracesSamplerArg: "OTEL_TRACES_SAMPLER_ARG",
  otelBspScheduleDelay: "OTEL_BSP_SCHEDULE_DELAY",
  otelBspMaxQueueSize: "OTEL_BSP_MAX_QUEUE_SIZE",
};

export class SettingsError extends Error {
  override readonly name = "SettingsError";
}

/**
 * Parse settings from an environment map plus explicit overrides (CLI flags win over env).
 * Throws SettingsError listing every invalid variable.
 */
export function parseSettings(env: Record<string, string | undefined>, overrides: Partial<Record<keyof Settings, unknown>> = {}): Settings {
  const raw: Record<string, unknown> = {};
  for (const [key, envName] of Object.entries(envNames) as [keyof Settings, string][]) {
    const value = env[envName];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) raw[key] = value;
  const result = settingsSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? "");
    const source = key in overrides && overrides[key as keyof Settings] !== undefined ? `--${key}` : (envNames[key as keyof Settings] ?? key);
    return `  ${source}: ${issue.message}`;
  });
  throw new SettingsError(`Invalid settings:\n${lines.join("\n")}`);
}

export { envNames as settingsEnvNames };

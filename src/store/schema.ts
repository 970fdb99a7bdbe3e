import type { LEDGER_COLUMN_SPECS, LedgerColumn, LedgerColumnValue } from "./ledger-columns.ts";

/**
 * The database as Kysely sees it. Every capability queries through this type with
 * portable SQL, so SQLite, PostgreSQL and D1 run the same code. Add a table here and a
 * migration in migrations/ together.
 */
export interface Database {
  ledger: LedgerTable;
  identities: IdentitiesTable;
  issued_tokens: IssuedTokensTable;
  login_requests: LoginRequestsTable;
  identity_audit: IdentityAuditTable;
  mcp_audit: McpAuditTable;
  mcp_oauth_tokens: McpOAuthTokensTable;
  caller_groups: CallerGroupsTable;
  budget_counters: BudgetCountersTable;
  budget_reservations: BudgetReservationsTable;
  rate_windows: RateWindowsTable;
  cluster_leases: ClusterLeasesTable;
  cluster_snapshots: ClusterSnapshotsTable;
  provider_objects: ProviderObjectsTable;
  service_accounts: ServiceAccountsTable;
  service_account_keys: ServiceAccountKeysTable;
  identity_revocations: IdentityRevocationsTable;
  admin_audit: AdminAuditTable;
  captured_bodies: CapturedBodiesTable;
}

/** Bodies of a captured request (org config `bodyCapture`), redacted and size-capped; see migration 014. */
export interface CapturedBodiesTable {
  request_id: string;
  /** The request's arrival, epoch ms (the ledger's `ts`); the retention deletes by it. */
  ts: number;
  request_body: string | null;
  request_bytes: number;
  request_truncated: number;
  response_body: string | null;
  response_bytes: number;
  response_truncated: number;
  request_note: string | null;
  response_note: string | null;
  redactions: number;
}

/** One admin action (API or CLI); never a secret (docs/admin.md#audit). */
export interface AdminAuditTable {
  id: string;
  ts: number;
  /** person | service_account | cli */
  actor_kind: string;
  actor_id: string;
  actor_name: string;
  action: string;
  target: string;
  /** started | ok | failed | denied */
  outcome: string;
  /** JSON of non-secret facts. */
  detail: string;
  /** api | cli */
  via: string;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
}

/** "sub", "email" (normalised), "jti" or "group": tokens of it issued at or before `revoked_at` are refused. */
export interface IdentityRevocationsTable {
  id: string;
  kind: string;
  value: string;
  revoked_at: number;
  reason: string;
  actor: string;
}

/** A non-human caller; `id` is its caller id in the ledger and budgets. */
export interface ServiceAccountsTable {
  id: string;
  name: string;
  owner_group: string;
  /** JSON of ServiceAccountScopes. */
  scopes: string;
  /** JSON of ServiceAccountLimits. */
  limits: string;
  created_at: number;
  created_by: string;
  expires_at: number | null;
  disabled_at: number | null;
}

/** One key of a service account; only its SHA-256 hash is stored. */
export interface ServiceAccountKeysTable {
  id: string;
  account_id: string;
  key_hash: string;
  hint: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  revoked_reason: string | null;
}

/** Who created each provider-side object (file, batch) through the gateway. */
export interface ProviderObjectsTable {
  provider: string;
  kind: string;
  object_id: string;
  owner_id: string;
  created_at: number;
}

/** Settled spend per budget key, shared by every instance (see adapters/node/cluster). */
export interface BudgetCountersTable {
  key: string;
  settled_usd: number;
  updated_at: number;
}

/** Outstanding reservations: one row per reservation and key; expired rows no longer count. */
export interface BudgetReservationsTable {
  id: string;
  key: string;
  amount_usd: number;
  expires_at: number;
}

/** Rate-limit amount taken per key and fixed minute (window_start = epoch ms of the minute). */
export interface RateWindowsTable {
  key: string;
  window_start: number;
  amount: number;
}

/** A periodic job's lease: the holder runs it until expires_at. */
export interface ClusterLeasesTable {
  name: string;
  holder: string;
  expires_at: number;
}

/** A document one instance publishes and the others poll (org config, catalog). */
export interface ClusterSnapshotsTable {
  name: string;
  revision: number;
  /** SHA-256 of body, hex: equal digests mean nothing changed. */
  digest: string;
  body: string;
  published_by: string;
  updated_at: number;
}

/** Group membership of each anonymous caller as last seen by the policy (group budget reconciliation). */
export interface CallerGroupsTable {
  caller_id: string;
  group_name: string;
  updated_at: number;
}

/** email -> anonymous id, written once per email (see identity/anonymous-ids). */
export interface IdentitiesTable {
  id: string;
  /** Lower-cased verified email. */
  email: string;
  created_at: number;
}

/** Tokens Gatehouse signed; `revoked_at` set by `gatehouse token revoke`. */
export interface IssuedTokensTable {
  jti: string;
  caller_id: string;
  /** "login" (OIDC or dev device flow) or "cli" (`gatehouse token issue`). */
  source: string;
  issued_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
}

/** A pending `gatehouse login`; only a hash of the device code is stored. */
export interface LoginRequestsTable {
  device_code_hash: string;
  user_code: string;
  state: string | null;
  code_verifier: string | null;
  nonce: string | null;
  /** pending | approved | redeemed | denied */
  status: string;
  email: string | null;
  /** JSON array of group names from the identity provider. */
  groups: string | null;
  created_at: number;
  expires_at: number;
  last_poll_at: number | null;
}

/** Audit trail of admins resolving an anonymous id to an email. */
export interface IdentityAuditTable {
  id: string;
  ts: number;
  actor: string;
  action: string;
  caller_id: string;
  reason: string;
}

export type StreamOutcome = "completed" | "client_aborted" | "upstream_failed" | "not_forwarded";

/**
 * One row per request. Its columns are defined once, at run time, in ledger-columns.ts; the
 * two checks below the interface fail to compile when this interface and that definition
 * disagree (a column on one side only, or a different type or nullability).
 */
export interface LedgerTable {
  request_id: string;
  /** Milliseconds since the epoch when the request arrived. */
  ts: number;
  /** UTC day, YYYY-MM-DD, for cheap grouping. */
  day: string;
  caller_id: string;
  team: string | null;
  provider: string;
  model: string;
  endpoint: string;
  streamed: number;
  status: number;
  outcome: StreamOutcome;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_5m_tokens: number;
  cache_write_1h_tokens: number;
  reasoning_tokens: number;
  cost_usd: number;
  /** True when the model had no price in the catalog or overrides. */
  unpriced: number;
  upstream_latency_ms: number | null;
  ttfb_ms: number | null;
  duration_ms: number;
  error_code: string | null;
  /** The model the client asked for (an alias, or the first choice before a fallback). */
  requested_model: string | null;
  /** Upstream attempts made (more than 1 when a fallback model answered). */
  attempts: number;
  /**
   * 1 when the provider's usage never arrived (client abort, upstream break, a stream cut
   * before its usage event) and the gateway counted the tokens itself: input from the
   * request body, output from the deltas it relayed (see docs/usage-and-pricing.md).
   */
  estimated: number;
  /**
   * The coding client the request's user agent names (src/ledger/client.ts: opencode,
   * claude-code, codex, gemini-cli, sdk, other); NULL on rows written before it was recorded.
   */
  client: string | null;
  /** The client's version ("2.1.332"; "openai-js/6.49.0" for an SDK), bounded and in a safe charset. */
  client_version: string | null;
  /** The client's own session id (x-claude-code-session-id, x-session-id, Codex's session_id), when sent and well-formed. */
  session_id: string | null;
  /** The name (never the value) of the pool key that served the request (docs/providers/key-pools.md); NULL without a pool. */
  key_name: string | null;
  /** The provider the request came in on when another one served it (cross-provider fallback); NULL when the one asked served. */
  requested_provider: string | null;
}

type Assert<T extends true> = T;
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type LedgerSpec = typeof LEDGER_COLUMN_SPECS;
/** Columns whose declared type here is not what the definition makes of them (never when all agree). */
type MistypedLedgerColumns = {
  [K in LedgerColumn]: LedgerTable[K] extends LedgerColumnValue<LedgerSpec[K]> ? ((null extends LedgerTable[K] ? true : false) extends LedgerSpec[K]["nullable"] ? never : K) : K;
}[LedgerColumn];
/** Compile error "Type 'false' does not satisfy the constraint 'true'": a column is in LedgerTable or LEDGER_COLUMN_SPECS but not both. */
export type LedgerTableHasExactlyTheDefinedColumns = Assert<SameKeys<keyof LedgerTable, LedgerColumn>>;
/** Compile error here: a column's type or nullability in LedgerTable differs from LEDGER_COLUMN_SPECS. */
export type LedgerTableTypesMatchTheDefinition = Assert<[MistypedLedgerColumns] extends [never] ? true : false>;

/** One MCP tool call through the portal. Arguments and results only when the server's config asks. */
export interface McpAuditTable {
  id: string;
  /** Milliseconds since the epoch when the call started. */
  ts: number;
  /** Anonymous caller id (never the email). */
  caller_id: string;
  team: string | null;
  session_id: string | null;
  server_id: string;
  /** Upstream tool name, without the server prefix. */
  tool: string;
  /** "direct" (tools/call) or "codemode" (from Code Mode's execute). */
  via: string;
  /** ok | tool_error | denied | upstream_error | timeout */
  outcome: string;
  duration_ms: number;
  /** Short error description (class and code), never upstream bodies. */
  error: string | null;
  arguments_json: string | null;
  result_json: string | null;
}

/** Per-user OAuth tokens for upstream MCP servers; the token material is AES-GCM encrypted. */
export interface McpOAuthTokensTable {
  server_id: string;
  caller_id: string;
  ciphertext: string;
  expires_at: number | null;
  updated_at: number;
}

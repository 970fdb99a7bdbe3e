/** Who is calling, after authentication. Only `id` (an anonymous UUID) ever leaves the gateway. */
export interface Caller {
  /** Anonymous, stable id: what upstreams and the ledger see. */
  id: string;
  /** Verified email; never forwarded, never logged. */
  email: string | undefined;
  /** Groups from the identity token or the group mapping; used by policy. */
  groups: readonly string[];
  /** The team the caller is attributed to in the ledger (first group unless configured). */
  team: string | undefined;
  /** Id of the gateway token (jti) when the gateway issued it; used for revocation. */
  tokenId: string | undefined;
  /** Set only for a service account's key: what the key may do, and its own limits. */
  serviceAccount?: ServiceAccountGrant;
}

/** What a service account may do (every list narrows; "*" in routes or models means any). */
export interface ServiceAccountGrant {
  name: string;
  /** Provider route ids the key may call (openai, anthropic, …). */
  routes: readonly string[];
  /** "provider/model" globs the key may use. */
  models: readonly string[];
  /** MCP portal server ids the key may use. */
  mcpServers: readonly string[];
  /** May scrape /metrics (the metrics:read scope). */
  metricsRead: boolean;
  /** May call the admin API (the admin scope). */
  admin: boolean;
  /** The account's own budget and rate limits, on top of its group's (keyed by the account id). */
  limits: ServiceAccountLimits;
}

export interface ServiceAccountLimits {
  dailyUsd?: number | undefined;
  monthlyUsd?: number | undefined;
  requestsPerMinute?: number | undefined;
  tokensPerMinute?: number | undefined;
}

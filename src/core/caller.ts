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
}

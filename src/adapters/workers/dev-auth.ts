import { extractClientToken, timingSafeEqualText, type Authenticator, type HeaderReader } from "../../core/auth.ts";
import type { Caller } from "../../core/caller.ts";
import { GatewayError } from "../../core/errors.ts";
import type { AnonymousIds } from "../../identity/index.ts";

/** The email the dev token stands for, as on Node (`DEV_EMAIL` in adapters/node/server.ts). */
export const DEV_EMAIL = "dev@localhost";

/**
 * Dev mode on Workers (local tests only): one static token (a Worker secret) for the
 * laptop's owner, as on Node: the anonymous id of dev@localhost from the identities table,
 * groups "dev" (for policies) and "admin". Node signs tokens too; a Worker has no signing
 * key, so the static token is the only way in.
 */
export class WorkerDevAuthenticator implements Authenticator {
  constructor(
    private readonly token: string,
    private readonly anonymousIds: AnonymousIds,
  ) {}

  async authenticate(headers: HeaderReader): Promise<Caller> {
    const presented = extractClientToken(headers);
    if (!presented) throw new GatewayError("unauthenticated", "Missing gateway token. Send it as cf-access-token, Authorization: Bearer, x-api-key or x-goog-api-key.");
    if (!timingSafeEqualText(presented, this.token)) throw new GatewayError("unauthenticated", "Invalid gateway token.");
    const id = await this.anonymousIds.idFor(DEV_EMAIL);
    return { id, email: DEV_EMAIL, groups: ["dev", "admin"], team: "dev", tokenId: undefined };
  }
}

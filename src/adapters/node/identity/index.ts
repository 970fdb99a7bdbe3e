import type { Kysely } from "kysely";
import type { Clock } from "../../../core/clock.ts";
import type { Logger } from "../../../core/logger.ts";
import type { Settings } from "../../../core/settings.ts";
import { createIdentity, type Identity } from "../../../identity/index.ts";
import type { Database } from "../../../store/index.ts";
import { loadOrCreateSigningKey } from "./signing-key-file.ts";

export { loadOrCreateSigningKey, signingKeyPath } from "./signing-key-file.ts";

/**
 * Identity for the Node server: loads (or creates) the signing key when Gatehouse signs its
 * own tokens and builds the mode's authenticator (the login routes are mounted by the
 * composition, src/gateway). `staticTokens` lets dev mode keep accepting the generated dev token.
 */
export async function createNodeIdentity(settings: Settings, deps: { db: Kysely<Database>; clock: Clock; logger: Logger; staticTokens?: ReadonlyMap<string, string> }): Promise<Identity> {
  const signingKey = settings.authMode === "jwt" ? undefined : await loadOrCreateSigningKey(settings);
  return createIdentity(settings, { db: deps.db, clock: deps.clock, logger: deps.logger, ...(signingKey ? { signingKey } : {}), ...(deps.staticTokens ? { staticTokens: deps.staticTokens } : {}) });
}

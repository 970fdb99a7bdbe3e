import type { Kysely } from "kysely";
import type { AppModule } from "../../../core/app.ts";
import type { Clock } from "../../../core/clock.ts";
import type { Logger } from "../../../core/logger.ts";
import type { Settings } from "../../../core/settings.ts";
import { createIdentity, createLoginModule, type Identity } from "../../../identity/index.ts";
import type { Database } from "../../../store/index.ts";
import { loadOrCreateSigningKey } from "./signing-key-file.ts";

export { loadOrCreateSigningKey, signingKeyPath } from "./signing-key-file.ts";

export interface NodeIdentity extends Identity {
  /** `/auth/*` (login, callback, JWKS); mounts nothing in jwt mode. */
  module: AppModule;
}

/**
 * Identity for the Node server: loads (or creates) the signing key when Gatehouse signs its
 * own tokens, builds the mode's authenticator and the login routes. `staticTokens` lets dev
 * mode keep accepting the generated dev token.
 */
export async function createNodeIdentity(
  settings: Settings,
  deps: { db: Kysely<Database>; clock: Clock; logger: Logger; staticTokens?: ReadonlyMap<string, string>; fetch?: typeof fetch },
): Promise<NodeIdentity> {
  const signingKey = settings.authMode === "jwt" ? undefined : await loadOrCreateSigningKey(settings);
  const identity = createIdentity(settings, { db: deps.db, clock: deps.clock, logger: deps.logger, ...(signingKey ? { signingKey } : {}), ...(deps.staticTokens ? { staticTokens: deps.staticTokens } : {}) });
  const module = createLoginModule({ settings, identity, logger: deps.logger, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
  return { ...identity, module };
}

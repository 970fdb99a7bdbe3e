import { DEV_EMAIL, DevTokenAuthenticator, DevTokens, type AnonymousIds } from "../../identity/index.ts";

/**
 * Dev mode on Workers (local tests only): the Worker secret GATEHOUSE_DEV_TOKEN, checked by
 * identity's one dev-token check (constant time, the same refusals as Node) and standing for
 * dev@localhost as on Node. A Worker has no signing key, so the dev token is the only way in.
 */
export class WorkerDevAuthenticator extends DevTokenAuthenticator {
  constructor(token: string, anonymousIds: AnonymousIds) {
    super(new DevTokens(new Map([[token, DEV_EMAIL]])), anonymousIds);
  }
}

import type { Logger } from "../../core/logger.ts";
import { describeError } from "../../core/app.ts";
import type { SharedAnonymousIdCache } from "../../identity/index.ts";
import type { KVNamespace } from "./bindings.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The KV key of an email's anonymous id: a SHA-256 of the (already normalised) email, so
 * the namespace, which the Cloudflare dashboard lists, holds no email in clear text.
 */
export async function anonymousIdKvKey(email: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(email));
  return `anon-id:${[...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * Anonymous ids cached in KV for every isolate: a cold isolate resolves a known caller with
 * one KV read (served from the edge location) instead of a D1 query. D1's insert-or-select
 * on the unique email stays the truth; KV only ever holds what D1 returned, and an email's id
 * never changes, so entries need no expiry. A KV failure is logged and treated as a miss.
 */
export class KvAnonymousIdCache implements SharedAnonymousIdCache {
  constructor(
    private readonly kv: KVNamespace,
    private readonly logger: Logger,
  ) {}

  async get(email: string): Promise<string | undefined> {
    try {
      const value = await this.kv.get(await anonymousIdKvKey(email), "text");
      return value !== null && UUID.test(value) ? value : undefined;
    } catch (err) {
      this.logger.warn({ err: describeError(err) }, "anonymous-id cache read failed; asking D1");
      return undefined;
    }
  }

  async put(email: string, id: string): Promise<void> {
    try {
      await this.kv.put(await anonymousIdKvKey(email), id);
    } catch (err) {
      this.logger.warn({ err: describeError(err) }, "anonymous-id cache write failed; the next cold isolate asks D1");
    }
  }
}

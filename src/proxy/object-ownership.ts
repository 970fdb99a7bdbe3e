import type { Kysely } from "kysely";
import type { Clock } from "../core/clock.ts";
import { describeError } from "../core/app.ts";
import type { Logger } from "../core/logger.ts";
import type { Database } from "../store/index.ts";

/**
 * Who created each provider-side object through the gateway. A new object is known in
 * memory at once (its creator may read it in the next request) and written to the store
 * behind; lookups that miss memory ask the store, so other instances see it too.
 */
export interface ObjectOwnership {
  ownerOf(provider: string, kind: string, objectId: string): Promise<string | undefined>;
  ownedBy(provider: string, kind: string, ownerId: string): Promise<ReadonlySet<string>>;
  record(provider: string, kind: string, objectId: string, ownerId: string): void;
  forget(provider: string, kind: string, objectId: string): void;
}

const MEMORY_LIMIT = 10_000;

export function createObjectOwnership(db: Kysely<Database>, clock: Clock, logger: Logger): ObjectOwnership {
  const known = new Map<string, string>();
  const keyOf = (provider: string, kind: string, id: string) => `${provider}\u0000${kind}\u0000${id}`;
  const remember = (key: string, owner: string) => {
    if (known.size >= MEMORY_LIMIT) known.delete(known.keys().next().value as string);
    known.set(key, owner);
  };
  return {
    async ownerOf(provider, kind, objectId) {
      const key = keyOf(provider, kind, objectId);
      const cached = known.get(key);
      if (cached !== undefined) return cached;
      const row = await db.selectFrom("provider_objects").select("owner_id").where("provider", "=", provider).where("kind", "=", kind).where("object_id", "=", objectId).executeTakeFirst();
      if (row) remember(key, row.owner_id);
      return row?.owner_id;
    },
    async ownedBy(provider, kind, ownerId) {
      const rows = await db.selectFrom("provider_objects").select("object_id").where("provider", "=", provider).where("kind", "=", kind).where("owner_id", "=", ownerId).execute();
      const ids = new Set(rows.map((r) => r.object_id));
      for (const [key, owner] of known) {
        if (owner !== ownerId) continue;
        const [p, k, id] = key.split("\u0000");
        if (p === provider && k === kind && id !== undefined) ids.add(id);
      }
      return ids;
    },
    record(provider, kind, objectId, ownerId) {
      remember(keyOf(provider, kind, objectId), ownerId);
      db.insertInto("provider_objects")
        .values({ provider, kind, object_id: objectId, owner_id: ownerId, created_at: clock.now() })
        .onConflict((oc) => oc.columns(["provider", "kind", "object_id"]).doNothing())
        .execute()
        .catch((err: unknown) => logger.error({ provider, kind, err: describeError(err) }, "could not store a provider object's owner; it stays known to this instance only"));
    },
    forget(provider, kind, objectId) {
      known.delete(keyOf(provider, kind, objectId));
      db.deleteFrom("provider_objects")
        .where("provider", "=", provider)
        .where("kind", "=", kind)
        .where("object_id", "=", objectId)
        .execute()
        .catch((err: unknown) => logger.error({ provider, kind, err: describeError(err) }, "could not remove a deleted provider object's owner"));
    },
  };
}

import { sql, type Kysely } from "kysely";
import type { Database } from "../../../store/index.ts";

export interface SnapshotHead {
  revision: number;
  digest: string;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Publishes a document under `name` unless the stored one has the same digest. Returns the
 * revision now stored; the revision only moves when the content changed, so pollers reload
 * only real changes.
 */
export async function publishSnapshot(db: Kysely<Database>, name: string, body: string, publisher: string, now: number): Promise<SnapshotHead> {
  const digest = await sha256Hex(body);
  const row = await db
    .insertInto("cluster_snapshots")
    .values({ name, revision: 1, digest, body, published_by: publisher, updated_at: now })
    .onConflict((oc) =>
      oc
        .column("name")
        .doUpdateSet({ revision: sql<number>`cluster_snapshots.revision + 1`, digest, body, published_by: publisher, updated_at: now })
        .where("cluster_snapshots.digest", "<>", digest),
    )
    .returning(["revision", "digest"])
    .executeTakeFirst();
  if (row) return { revision: Number(row.revision), digest: row.digest };
  // Same content already stored: nothing was written.
  const head = await snapshotHead(db, name);
  if (!head) throw new Error(`snapshot ${name} vanished while publishing`);
  return head;
}

export async function snapshotHead(db: Kysely<Database>, name: string): Promise<SnapshotHead | undefined> {
  const row = await db.selectFrom("cluster_snapshots").select(["revision", "digest"]).where("name", "=", name).executeTakeFirst();
  return row ? { revision: Number(row.revision), digest: row.digest } : undefined;
}

export async function readSnapshot(db: Kysely<Database>, name: string): Promise<(SnapshotHead & { body: string }) | undefined> {
  const row = await db.selectFrom("cluster_snapshots").select(["revision", "digest", "body"]).where("name", "=", name).executeTakeFirst();
  return row ? { revision: Number(row.revision), digest: row.digest, body: row.body } : undefined;
}

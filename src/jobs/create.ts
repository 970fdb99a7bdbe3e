import type { Kysely } from "kysely";
import { jobsDb } from "./tables.ts";

export interface JobItem {
  /** Unique within the job: the step's key (a repository's name or path). */
  item: string;
  input: unknown;
}

export interface JobDefinition {
  id: string;
  kind: string;
  params: unknown;
  items: readonly JobItem[];
}

const INSERT_CHUNK = 200;

/**
 * Creates the job and one pending step per item, in one transaction; a job that exists already
 * is resumed as it is (its steps keep their state), so running the same command again after a
 * crash continues it. Refuses a resumed id of another kind, and duplicate items.
 */
export async function createJob<DB>(database: Kysely<DB>, definition: JobDefinition, now: number): Promise<{ created: boolean; stepCount: number }> {
  const db = jobsDb(database);
  const existing = await db.selectFrom("jobs").select(["kind", "step_count"]).where("id", "=", definition.id).executeTakeFirst();
  if (existing) {
    if (existing.kind !== definition.kind) throw new Error(`job ${definition.id} exists and is a ${existing.kind} job, not ${definition.kind}; choose another --job id`);
    return { created: false, stepCount: Number(existing.step_count) };
  }
  const seen = new Set<string>();
  for (const { item } of definition.items) {
    if (item === "") throw new Error("a job item needs a non-empty key");
    if (seen.has(item)) throw new Error(`item ${JSON.stringify(item)} is listed twice; each item is one step`);
    seen.add(item);
  }
  try {
    await db.transaction().execute(async (tx) => {
      await tx
        .insertInto("jobs")
        .values({ id: definition.id, kind: definition.kind, params: JSON.stringify(definition.params ?? null), step_count: definition.items.length, created_at: now, finished_at: null })
        .execute();
      for (let i = 0; i < definition.items.length; i += INSERT_CHUNK) {
        const rows = definition.items.slice(i, i + INSERT_CHUNK).map((entry, j) => ({
          job_id: definition.id,
          item: entry.item,
          seq: i + j,
          input: JSON.stringify(entry.input ?? null),
          status: "pending" as const,
          attempts: 0,
          not_before: 0,
          cost_usd: 0,
        }));
        await tx.insertInto("job_steps").values(rows).execute();
      }
    });
  } catch (err) {
    // Another worker created it first (PostgreSQL, several workers started at once): resume that one.
    const raced = await db.selectFrom("jobs").select(["kind", "step_count"]).where("id", "=", definition.id).executeTakeFirst();
    if (raced && raced.kind === definition.kind) return { created: false, stepCount: Number(raced.step_count) };
    throw err;
  }
  return { created: true, stepCount: definition.items.length };
}

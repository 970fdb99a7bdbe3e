import type { Clock } from "../core/clock.ts";
import { parseDescriptorFile, type FileError } from "./descriptors.ts";
import { EntityValidationError, refKey, validateEntity } from "./entity.ts";
import { deriveRelations } from "./relations.ts";
import { contentHash, entityRow, textHash, type EntityRecord } from "./rows.ts";
import type { CatalogSource } from "./source.ts";
import type { CatalogStore, CleanFile } from "./store.ts";

export interface SourceRefreshReport {
  sourceId: string;
  status: "ok" | "error";
  /** Set when the source as a whole could not be read; its entities were left as they were. */
  error?: string;
  files: number;
  entities: number;
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  /** Files a remote source found unchanged by a validator (ETag, blob id): not downloaded, not parsed. */
  notModified: number;
  /** Files or documents that could not be used; the entities they held before are kept. */
  problems: FileError[];
}

/**
 * One refresh over every source, one after the other: each source's descriptors are read,
 * validated and diffed by content hash against what that source stored last time, and only
 * new, changed and removed entities are written. A failing source (or file, or document)
 * never stops the others and never deletes what it held: only an entity whose file was read
 * cleanly and no longer contains it is removed.
 */
export async function refreshCatalog(store: CatalogStore, sources: readonly CatalogSource[], clock: Clock): Promise<SourceRefreshReport[]> {
  const reports: SourceRefreshReport[] = [];
  for (const source of sources) reports.push(await refreshSource(store, source, clock));
  return reports;
}

async function refreshSource(store: CatalogStore, source: CatalogSource, clock: Clock): Promise<SourceRefreshReport> {
  const report: SourceRefreshReport = { sourceId: source.id, status: "ok", files: 0, entities: 0, added: 0, updated: 0, unchanged: 0, removed: 0, notModified: 0, problems: [] };
  const attemptAt = clock.now();
  try {
    const stored = await store.storedBySource(source.id);
    const cleanBefore = await store.cleanFiles(source.id);
    const versions = new Map<string, string>();
    for (const [location, file] of cleanBefore) if (file.version !== null) versions.set(location, file.version);
    const snapshot = await source.read({ versions });
    const unchangedFiles = snapshot.unchanged ?? [];
    report.files = snapshot.files.length + unchangedFiles.length;
    report.notModified = unchangedFiles.length;
    report.problems.push(...snapshot.errors);
    const storedByLocation = new Map<string, string[]>();
    for (const entity of stored.values()) storedByLocation.set(entity.location, [...(storedByLocation.get(entity.location) ?? []), entity.ref]);
    // Files whose entities cannot be known this time: whatever they held stays.
    const unsettled = new Set(snapshot.errors.map((error) => error.location));
    const fileHashes = new Map<string, string>();
    const seen = new Set<string>();
    const clean = new Map<string, CleanFile>();
    // Checked by the source without a download (same ETag or blob id): same entities as stored.
    for (const file of unchangedFiles) {
      const before = cleanBefore.get(file.location);
      if (!before) {
        report.problems.push({ location: file.location, message: "the source reported this file unchanged, but it was never read cleanly; its entities are kept and it is read in full next time" });
        unsettled.add(file.location);
        continue;
      }
      const held = storedByLocation.get(file.location) ?? [];
      for (const ref of held) seen.add(ref);
      report.entities += held.length;
      report.unchanged += held.length;
      fileHashes.set(file.location, before.hash);
      // Rewritten only when the validator moved on (a push that left this file alone).
      if (before.version !== file.version) clean.set(file.location, { hash: before.hash, version: file.version });
    }
    const toParse: typeof snapshot.files = [];
    for (const file of snapshot.files) {
      const hash = await textHash(file.text);
      fileHashes.set(file.location, hash);
      const held = storedByLocation.get(file.location);
      // Same text as the last clean read: its entities are exactly the stored ones, unchanged.
      if (held && cleanBefore.get(file.location)?.hash === hash) {
        for (const ref of held) seen.add(ref);
        report.entities += held.length;
        report.unchanged += held.length;
        if ((cleanBefore.get(file.location)?.version ?? null) !== (file.version ?? null)) clean.set(file.location, { hash, version: file.version ?? null });
      } else toParse.push(file);
    }
    const candidates: EntityRecord[] = [];
    for (const file of toParse) {
      const parsed = parseDescriptorFile(file);
      if ("error" in parsed) {
        report.problems.push(parsed.error);
        unsettled.add(file.location);
        continue;
      }
      for (const document of parsed.documents) {
        try {
          const entity = await validateEntity(document.raw);
          const ref = refKey(entity);
          if (seen.has(ref)) throw new EntityValidationError(`${ref} is described twice in source "${source.id}"; the first description is kept.`);
          seen.add(ref);
          const relations = deriveRelations(entity);
          const hash = await contentHash(entity, document.location);
          candidates.push({ row: entityRow(entity, relations, source.id, document.location, hash, attemptAt), relations });
        } catch (err) {
          if (!(err instanceof EntityValidationError)) throw err;
          report.problems.push({ location: `${document.location}#${document.index + 1}`, message: err.message });
          unsettled.add(document.location);
        }
      }
    }

    const holders = await store.holders(candidates.map((record) => record.row.ref).filter((ref) => !stored.has(ref)));
    const upserts: EntityRecord[] = [];
    for (const record of candidates) {
      const previous = stored.get(record.row.ref);
      const holder = holders.get(record.row.ref);
      if (holder !== undefined) {
        // First source to claim a ref keeps it, as Backstage's location key does.
        report.problems.push({ location: record.row.location, message: `${record.row.ref} is already provided by source "${holder}"; this description is ignored.` });
        unsettled.add(record.row.location);
        continue;
      }
      report.entities += 1;
      if (!previous) report.added += 1;
      else if (previous.hash !== record.row.hash) report.updated += 1;
      else {
        report.unchanged += 1;
        continue;
      }
      upserts.push(record);
    }
    const deletes = [...stored.values()].filter((entity) => !seen.has(entity.ref) && !unsettled.has(entity.location)).map((entity) => entity.ref);
    report.removed = deletes.length;
    // Kept entities of unsettled files still count as held by the source.
    report.entities += [...stored.values()].filter((entity) => !seen.has(entity.ref) && unsettled.has(entity.location)).length;
    for (const file of toParse) if (!unsettled.has(file.location)) clean.set(file.location, { hash: fileHashes.get(file.location) ?? "", version: file.version ?? null });
    const dropped = [...cleanBefore.keys()].filter((location) => unsettled.has(location) || !fileHashes.has(location));
    await store.apply(source.id, upserts, deletes, { clean, dropped });
    await store.recordSource({ id: source.id, target: source.target, status: "ok", error: null, entity_count: report.entities, last_attempt_at: attemptAt, last_success_at: attemptAt });
  } catch (err) {
    report.status = "error";
    report.error = err instanceof Error ? err.message : String(err);
    try {
      await store.recordSource({ id: source.id, target: source.target, status: "error", error: report.error, entity_count: (await store.storedBySource(source.id)).size, last_attempt_at: attemptAt, last_success_at: null });
    } catch (recordErr) {
      // The store itself failed: say so in the report, and let the next source try.
      report.error += `; its status could not be stored either: ${recordErr instanceof Error ? recordErr.message : String(recordErr)}`;
    }
  }
  return report;
}

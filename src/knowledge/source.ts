import type { DescriptorFile, FileError } from "./descriptors.ts";

/**
 * A file the source checked cheaply (a 304 to If-None-Match, the same blob id, no push since)
 * and found the same as at its last clean read: its entities are kept without a download.
 */
export interface UnchangedFile {
  location: string;
  /** The validator to remember for next time (it may have moved on, e.g. a newer push time). */
  version: string;
}

/** What a source holds now: the descriptor files it could read, and the ones it could not. */
export interface SourceSnapshot {
  files: DescriptorFile[];
  /** Files found but unreadable (too large, permission): their entities are kept as they were. */
  errors: FileError[];
  /** Files known unchanged since their last clean read, without reading them (remote sources). */
  unchanged?: UnchangedFile[];
}

/** What the refresh tells a source about its last run. */
export interface SourceReadContext {
  /**
   * The validators (ETag, blob id, push time) the source returned with each file that was
   * read cleanly last time, by location. Only clean files are here, so an unchanged answer
   * always refers to entities the store holds.
   */
  versions: ReadonlyMap<string, string>;
}

/**
 * Where descriptors come from. `read` returns every descriptor file the source has now;
 * throwing means the source as a whole could not be read (path gone, API down), and the
 * refresh then keeps that source's previous entities untouched.
 */
export interface CatalogSource {
  /** Stable id: entities remember which source brought them. */
  id: string;
  /** Human-readable target (a path or URL) for status output. */
  target: string;
  read(context: SourceReadContext): Promise<SourceSnapshot>;
}

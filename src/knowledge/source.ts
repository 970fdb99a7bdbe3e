import type { DescriptorFile, FileError } from "./descriptors.ts";

/** What a source holds now: the descriptor files it could read, and the ones it could not. */
export interface SourceSnapshot {
  files: DescriptorFile[];
  /** Files found but unreadable (too large, permission): their entities are kept as they were. */
  errors: FileError[];
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
  read(): Promise<SourceSnapshot>;
}

import { parseAllDocuments } from "yaml";

/** One `catalog-info.yaml` read by a source: where it is and its text. */
export interface DescriptorFile {
  /** `file:/abs/path/catalog-info.yaml` (Backstage's location ref form). */
  location: string;
  text: string;
  /** A validator (ETag, blob id) a remote source can check next time instead of downloading. */
  version?: string;
}

export interface ParsedDocument {
  location: string;
  /** 0-based position of the YAML document in its file. */
  index: number;
  raw: unknown;
}

export interface FileError {
  location: string;
  message: string;
}

/**
 * Splits a multi-document descriptor file into its documents. A YAML error anywhere fails
 * the whole file (as Backstage does): a half-read file must not delete the entities the
 * unreadable part still describes.
 */
export function parseDescriptorFile(file: DescriptorFile): { documents: ParsedDocument[] } | { error: FileError } {
  const parsed = parseAllDocuments(file.text, { prettyErrors: true });
  const list = Array.isArray(parsed) ? parsed : [parsed];
  const documents: ParsedDocument[] = [];
  for (const [index, document] of list.entries()) {
    const first = document.errors[0];
    if (first) return { error: { location: file.location, message: `YAML document ${index + 1}: ${first.message}` } };
    const raw: unknown = document.toJS({ maxAliasCount: 50 });
    // An empty document (a trailing `---`) is no entity.
    if (raw === null || raw === undefined) continue;
    documents.push({ location: file.location, index, raw });
  }
  return { documents };
}

/**
 * Model id matching between what clients send and what models.dev lists. Exact match is
 * always tried first (dated snapshots can have their own prices); then the id without a
 * `models/` prefix (Gemini REST paths) and without a release-date suffix
 * (`claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`, `gpt-4o-2024-08-06` -> `gpt-4o`); and
 * the reverse, an undated id the catalog only lists dated, resolved to the newest date.
 */
const DATE_SUFFIX = /[-@](?:20\d{2}-?[01]\d-?[0-3]\d)$/;

export function stripModelPrefix(id: string): string {
  return id.startsWith("models/") ? id.slice("models/".length) : id;
}

export function stripDateSuffix(id: string): string {
  return id.replace(DATE_SUFFIX, "");
}

/** The date suffix as a sortable number, or 0 when the id has none. */
export function dateSuffixValue(id: string): number {
  const match = DATE_SUFFIX.exec(id);
  return match ? Number(match[0].replace(/[^0-9]/g, "")) : 0;
}

/** Canonical form used to compare ids: lower case, no `models/` prefix, no date suffix. */
export function canonicalModelId(id: string): string {
  return stripDateSuffix(stripModelPrefix(id.trim()).toLowerCase());
}

/**
 * Index of one provider's model ids by canonical form. For each canonical form it keeps
 * the undated id when listed, else the newest dated one.
 */
export function buildCanonicalIndex(ids: Iterable<string>): Map<string, string> {
  const index = new Map<string, string>();
  for (const id of ids) {
    const canonical = canonicalModelId(id);
    const current = index.get(canonical);
    if (current === undefined || preferred(id, current)) index.set(canonical, id);
  }
  return index;
}

function preferred(candidate: string, current: string): boolean {
  const candidateDate = dateSuffixValue(candidate);
  const currentDate = dateSuffixValue(current);
  if (candidateDate === 0) return currentDate !== 0 || candidate.length < current.length;
  return currentDate !== 0 && candidateDate > currentDate;
}

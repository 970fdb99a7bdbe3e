/** Small text helpers shared by the judge, re-review and eval matching. */
const stopWords = new Set(["the", "a", "an", "of", "to", "in", "on", "is", "are", "be", "and", "or", "for", "with", "this", "that", "it", "not", "can", "may", "when", "from", "by", "at", "as"]);

export function words(text: string): Set<string> {
  const out = new Set<string>();
  for (const w of text.toLowerCase().split(/[^a-z0-9_]+/)) if (w.length >= 3 && !stopWords.has(w)) out.add(w);
  return out;
}

/** Jaccard similarity of the word sets of two texts (0..1). */
export function similarity(a: string, b: string): number {
  const x = words(a);
  const y = words(b);
  if (x.size === 0 || y.size === 0) return 0;
  let common = 0;
  for (const w of x) if (y.has(w)) common += 1;
  return common / (x.size + y.size - common);
}

export function normalizeCode(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** FNV-1a, 32-bit, hex: a stable short fingerprint without async crypto. */
export function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

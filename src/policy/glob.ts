/**
 * Model patterns are "provider/model" globs where "*" matches any run of characters,
 * slashes included: open-weight ids such as "@cf/meta/llama-3.1-8b" contain slashes, so
 * path-style globbing (picomatch, where "*" stops at "/") would surprise config authors.
 */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (const ch of glob) {
    if (ch === "*") source += ".*";
    else if (ch === "?") source += ".";
    else source += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

export function matchesAny(patterns: readonly RegExp[], value: string): boolean {
  for (const pattern of patterns) if (pattern.test(value)) return true;
  return false;
}

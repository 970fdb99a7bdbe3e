import { z } from "zod";
import { isProviderId, providerById } from "../../providers/index.ts";

// Turns zod's "what is wrong" into "what is wrong and how to fix it" for config files:
// the nearest known key for a misspelt one, the right way to give a provider key, an example
// for a URL. Reads the schema itself, so a new field is suggested without a list to keep.

/** Keys that look like a secret written into the config instead of named by its variable. */
const INLINE_SECRET_KEYS = new Set(["apikey", "api_key", "key", "token", "secret", "apitoken", "api-key", "authorization", "password"]);

type AnySchema = z.core.$ZodType;

/** One step into a schema: the field's schema, or undefined when the path leaves what the schema knows. */
function child(schema: AnySchema, key: PropertyKey): AnySchema | undefined {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) return (inner.shape as Record<string, AnySchema>)[String(key)];
  if (inner instanceof z.ZodRecord) return inner._zod.def.valueType;
  if (inner instanceof z.ZodArray) return inner._zod.def.element;
  return undefined;
}

/** Through optional, default, nullable, pipes and lazies to the schema that has a shape. */
function unwrap(schema: AnySchema): AnySchema {
  let current: AnySchema = schema;
  for (let i = 0; i < 20; i++) {
    const def = current._zod.def as { type: string; innerType?: AnySchema; in?: AnySchema; getter?: () => AnySchema };
    if (def.innerType) current = def.innerType;
    else if (def.type === "pipe" && def.in) current = def.in;
    else if (def.type === "lazy" && def.getter) current = def.getter();
    else return current;
  }
  return current;
}

/** The keys an object schema at `path` accepts ([] when it is not an object). */
export function knownKeysAt(schema: AnySchema, path: readonly PropertyKey[]): string[] {
  let current: AnySchema | undefined = schema;
  for (const key of path) {
    current = current ? child(current, key) : undefined;
    if (!current) return [];
  }
  const inner = unwrap(current);
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}

/** Edit distance (insert, delete, substitute, swap of neighbours), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const above = d[i - 1] as number[];
      row[j] = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[s.length] as number[])[t.length] as number;
}

/** The known key nearest to a misspelt one, if it is close enough to be what was meant. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(1, Math.floor(key.length / 3));
  return best !== undefined && bestDistance <= allowed ? best : undefined;
}

/**
 * A zod issue's message with the fix appended. `schema` is the schema the file was checked
 * against (for the known keys at the issue's path); the message never quotes a value, so a key
 * written inline is not echoed.
 */
export function explainIssue(schema: AnySchema, issue: z.core.$ZodIssue): string {
  const path = issue.path;
  if (issue.code === "unrecognized_keys") {
    const known = knownKeysAt(schema, path);
    const fixes = issue.keys.map((key) => {
      if (path[0] === "providers" && path.length === 2 && INLINE_SECRET_KEYS.has(key.toLowerCase())) {
        return `unknown key "${key}": provider keys never go in the config; use apiKeyEnv: NAME (e.g. apiKeyEnv: ${defaultKeyEnv(String(path[1]))}) and put the key in the gateway's environment (or GATEHOUSE_SECRETS_FILE)`;
      }
      const near = nearestKey(key, known);
      return near ? `unknown key "${key}": did you mean "${near}"?` : `unknown key "${key}"${known.length ? ` (known here: ${known.join(", ")})` : ""}`;
    });
    return fixes.join("; ");
  }
  if (issue.code === "invalid_format" && (issue as { format?: string }).format === "url") {
    const provider = path[0] === "providers" && path[2] === "upstream" ? String(path[1]) : undefined;
    const example = provider ? (isProviderId(provider) ? providerById(provider).upstreamExample : "https://api.example.com/v1") : "https://example.com/path";
    return `${issue.message}: write a full URL with its scheme, e.g. ${example}`;
  }
  return issue.message;
}

function defaultKeyEnv(provider: string): string {
  return isProviderId(provider) ? providerById(provider).defaultApiKeyEnv : "PROVIDER_API_KEY";
}

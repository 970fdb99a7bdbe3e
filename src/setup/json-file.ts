/** A JSON object read from a client's settings file; anything else is refused rather than overwritten. */
export type JsonObject = Record<string, unknown>;

export function parseSettingsObject(text: string | undefined, file: string): JsonObject {
  if (text === undefined || text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${err instanceof Error ? err.message : String(err)}); fix or move it, then run the command again. Nothing was changed.`, { cause: err });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error(`${file} does not hold a JSON object; fix or move it, then run the command again. Nothing was changed.`);
  return value as JsonObject;
}

/** The object at `key`, created when missing; a non-object there is refused (it is the user's, not ours to replace). */
export function objectAt(parent: JsonObject, key: string, file: string): JsonObject {
  const value = parent[key];
  if (value === undefined) {
    const created: JsonObject = {};
    parent[key] = created;
    return created;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error(`${file}: "${key}" is not an object; fix it, then run the command again. Nothing was changed.`);
  return value as JsonObject;
}

export const formatJson = (value: JsonObject): string => `${JSON.stringify(value, null, 2)}\n`;

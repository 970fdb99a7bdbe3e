import { formatJson, objectAt, parseSettingsObject } from "./json-file.ts";

/**
 * Gemini CLI 0.61 refuses to start with only GOOGLE_GEMINI_BASE_URL and GEMINI_API_KEY set: it
 * wants an auth type chosen in settings.json. `security.auth.selectedType: "gemini-api-key"`
 * is that choice. The model is set only when the user's settings name none.
 */
export function mergeGeminiSettings(existing: string | undefined, model: string | undefined, file = "settings.json"): string {
  const settings = parseSettingsObject(existing, file);
  const auth = objectAt(objectAt(settings, "security", file), "auth", file);
  auth["selectedType"] = "gemini-api-key";
  if (model !== undefined) {
    const modelSettings = objectAt(settings, "model", file);
    if (modelSettings["name"] === undefined) modelSettings["name"] = model;
  }
  return formatJson(settings);
}

const MANAGED = ["GOOGLE_GEMINI_BASE_URL", "GEMINI_API_KEY"] as const;

/**
 * `~/.gemini/.env`, which Gemini CLI loads itself: the gateway's URL and the gateway token
 * (Gemini CLI has no key-helper command, so the token is written; it is a Gatehouse token,
 * never a provider key, and the file is written 0600). Other lines stay as they are; our two
 * are replaced in place (or appended), so a re-run with the same token changes nothing.
 */
export function mergeGeminiEnv(existing: string | undefined, values: { baseUrl: string; token: string }): string {
  const wanted: Record<(typeof MANAGED)[number], string> = { GOOGLE_GEMINI_BASE_URL: values.baseUrl, GEMINI_API_KEY: values.token };
  for (const value of Object.values(wanted)) if (/[\r\n"]/.test(value)) throw new Error("a value for ~/.gemini/.env contains a newline or a quote");
  const lines = existing === undefined || existing === "" ? [] : existing.replace(/\r?\n$/, "").split(/\r?\n/);
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of lines) {
    const name = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1];
    const managed = MANAGED.find((m) => m === name);
    if (!managed) {
      out.push(line);
      continue;
    }
    if (seen.has(managed)) continue; // a duplicate would override ours depending on the loader: keep one
    seen.add(managed);
    out.push(`${managed}="${wanted[managed]}"`);
  }
  for (const name of MANAGED) if (!seen.has(name)) out.push(`${name}="${wanted[name]}"`);
  return `${out.join("\n")}\n`;
}

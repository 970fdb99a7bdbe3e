export interface CodexSetup {
  gatewayUrl: string;
  /** The provider's base_url: the gateway's /openai/v1 route. */
  baseUrl: string;
  /** The command Codex runs for a bearer token (`gatehouse login --print-token <url>`). */
  authCommand: { command: string; args: string[] };
  /** Written only when the file sets no top-level `model`. */
  model: string | undefined;
}

export const CODEX_PROVIDER_ID = "gatehouse";

/** A TOML table header line (`[a.b]`, `[[a]]`), not an array value that happens to start a line. */
const HEADER = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$/;
/** Ours: `[model_providers.gatehouse]` and its sub-tables, however the key is quoted. */
const OURS = /^model_providers\s*\.\s*(?:gatehouse|"gatehouse"|'gatehouse')(?:\s*\.|$)/;

/** A TOML basic string (JSON's escapes are a subset of TOML's for these values). */
const str = (value: string): string => JSON.stringify(value);

/**
 * Merges the gateway into Codex's `~/.codex/config.toml` as a line edit (no TOML library is
 * needed and the user's comments, order and formatting stay): `model_provider = "gatehouse"`
 * at the top level, and one `[model_providers.gatehouse]` table (base_url, wire_api =
 * "responses", WebSockets on — Gatehouse serves the Responses WebSocket — and an `auth`
 * command so Codex fetches a fresh gateway token itself: at start, every 5 minutes, after a
 * 401). An earlier gatehouse table is replaced, so re-running changes nothing. A file that
 * defines the provider some other way (dotted keys, an inline table) is refused rather than
 * guessed at.
 */
export function mergeCodexConfig(existing: string | undefined, setup: CodexSetup, file = "config.toml"): string {
  const lines = existing === undefined || existing === "" ? [] : existing.replace(/\r?\n$/, "").split(/\r?\n/);
  const out: string[] = [];
  let table: string | undefined; // undefined: the top level
  let skipping = false;
  let providerSet = false;
  let modelSeen = false;
  for (const line of lines) {
    const header = HEADER.exec(line);
    if (header?.[1] !== undefined) {
      table = header[1];
      skipping = OURS.test(table);
      if (skipping) continue;
      out.push(line);
      continue;
    }
    if (skipping) continue;
    const key = /^\s*([A-Za-z0-9_"'.-]+?)\s*=/.exec(line)?.[1];
    if (table === undefined && key !== undefined) {
      if (/^model_providers\b/.test(key)) throw new Error(`${file} defines model_providers with dotted keys at the top level; move it into [model_providers.<id>] tables, then run the command again. Nothing was changed.`);
      if (key === "model_provider") {
        if (!providerSet) out.push(`model_provider = ${str(CODEX_PROVIDER_ID)}`);
        providerSet = true;
        continue;
      }
      if (key === "model") modelSeen = true;
    }
    if (table !== undefined && /^model_providers$/.test(table) && key !== undefined && /^["']?gatehouse["']?(?:\.|$)/.test(key)) {
      throw new Error(`${file} defines the gatehouse provider inline under [model_providers]; remove that line, then run the command again. Nothing was changed.`);
    }
    out.push(line);
  }
  // Top-level keys must come before the first table: insert ours there.
  const firstTable = out.findIndex((line) => HEADER.test(line));
  const topEnd = firstTable === -1 ? out.length : firstTable;
  const inserted: string[] = [];
  if (!providerSet) inserted.push(`model_provider = ${str(CODEX_PROVIDER_ID)}`);
  if (!modelSeen && setup.model !== undefined) inserted.push(`model = ${str(setup.model)}`);
  if (inserted.length > 0) {
    // After the top-level keys already there (and before the blank lines that end them).
    let at = topEnd;
    while (at > 0 && (out[at - 1] ?? "").trim() === "") at--;
    out.splice(at, 0, ...inserted);
  }
  while (out.length > 0 && (out[out.length - 1] ?? "").trim() === "") out.pop();
  const block = [
    `[model_providers.${CODEX_PROVIDER_ID}]`,
    `# Written by \`gatehouse setup codex ${setup.gatewayUrl}\`; run it again to update this table.`,
    `name = "Gatehouse"`,
    `base_url = ${str(setup.baseUrl)}`,
    `wire_api = "responses"`,
    `supports_websockets = true`,
    "",
    `[model_providers.${CODEX_PROVIDER_ID}.auth]`,
    `command = ${str(setup.authCommand.command)}`,
    `args = [${setup.authCommand.args.map(str).join(", ")}]`,
    // Node starts the CLI in well under a second; a loaded laptop gets some room.
    `timeout_ms = 15000`,
    `refresh_interval_ms = 300000`,
  ];
  return `${[...out, ...(out.length > 0 ? [""] : []), ...block].join("\n")}\n`;
}

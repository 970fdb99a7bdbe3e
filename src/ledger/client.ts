/**
 * Which coding client sent a request, and in which of its sessions: the ledger's `client`,
 * `client_version` and `session_id` columns, read from the request's own headers.
 *
 * Everything here comes from the caller and proves nothing (any client can send any user
 * agent): it says what a request claims to be, for reporting, never for a decision. It is
 * bounded and reduced to a small printable charset before it is stored, so an attacker's
 * 1 MB user agent or a session id with control characters, quotes or markup never reaches
 * the ledger, the CSV or the dashboard as it was sent. docs/usage-and-pricing.md, "Clients
 * and sessions", lists the user agents and headers each client sends.
 */

/** The clients the ledger tells apart. `other`: a user agent that is none of these, or none at all. */
export const CLIENT_KINDS = ["opencode", "claude-code", "codex", "gemini-cli", "sdk", "other"] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

export interface ClientInfo {
  client: ClientKind;
  /** The client's version ("2.1.332"); for `sdk` which SDK and language too ("openai-js/6.49.0"); for `other` its first product token ("curl/8.5.0"). */
  clientVersion: string | null;
  /** The client's own session id, when it sends one in a header this gateway knows. */
  sessionId: string | null;
}

/** Longest user agent read: every client above names itself in its first few dozen characters. */
export const MAX_USER_AGENT_READ = 256;
/** Longest version stored. */
export const MAX_CLIENT_VERSION = 48;
/** Longest session id stored; a longer one is not a session id any client sends, and is dropped. */
export const MAX_SESSION_ID = 128;

/**
 * The session headers, in the order they are tried: Claude Code's, OpenCode's (and any client
 * following it), Codex's (`session_id`, with an underscore, on HTTP and on the WebSocket
 * handshake; `session-id` as some Codex builds and proxies spell it).
 */
export const SESSION_HEADERS = ["x-claude-code-session-id", "x-session-id", "session_id", "session-id"] as const;

/** A version as clients print them: starts with a digit, then digits, letters, dots, dashes, pluses. */
const VERSION = "(\\d[0-9A-Za-z.+-]{0,39})";

interface Rule {
  client: Exclude<ClientKind, "other">;
  pattern: RegExp;
  /** The stored version from the match. */
  version(m: RegExpExecArray): string | undefined;
}

/**
 * Checked in order against the start of the user agent (Claude Code is built on the
 * Anthropic SDK and Gemini CLI on @google/genai, so the CLIs come before the SDKs):
 * - OpenCode: `opencode/1.18.33 ai-sdk/…`
 * - Claude Code: `claude-cli/2.1.332 (external, cli)` (`sdk-ts`, `sdk-py` for its Agent SDK)
 * - Codex: `codex_cli_rs/0.171.0 (Ubuntu 24.4.0; x86_64) xterm`; `codex exec`, the IDE
 *   extension and the Codex SDK send their own originator (`codex_exec/…`, `codex_vscode/…`)
 * - Gemini CLI: `GeminiCLI/0.61.0/gemini-3-pro-preview (linux; x64; terminal)`, or
 *   `GeminiCLI-<embedder>/0.61.0/…` when another tool embeds it
 * - the official SDKs: openai `OpenAI/JS 6.49.0` (`AsyncOpenAI/Python 2.8.0`, `AzureOpenAI/JS …`),
 *   @anthropic-ai/sdk `Anthropic/JS 1.15.0` (`AsyncAnthropic/Python …`), @google/genai
 *   `google-genai-sdk/2.32.0 gl-node/v20.19.0` (`gl-python/3.12` from Python)
 */
const RULES: readonly Rule[] = [
  { client: "opencode", pattern: new RegExp(`^opencode/${VERSION}`, "i"), version: (m) => m[1] },
  { client: "claude-code", pattern: new RegExp(`^claude-(?:cli|code)/${VERSION}`, "i"), version: (m) => m[1] },
  { client: "codex", pattern: new RegExp(`^codex[_-][a-z_-]{1,24}/${VERSION}`, "i"), version: (m) => m[1] },
  { client: "gemini-cli", pattern: new RegExp(`^GeminiCLI(?:-[\\w.-]{1,32})?/${VERSION}`, "i"), version: (m) => m[1] },
  {
    client: "sdk",
    pattern: new RegExp(`^(?:Async)?(?:Azure)?(OpenAI|Anthropic)(?:Bedrock|Vertex|Foundry)?/(JS|Python|Go|Java|Kotlin|Ruby|CSharp|PHP) ${VERSION}`, "i"),
    version: (m) => `${(m[1] ?? "").toLowerCase()}-${(m[2] ?? "").toLowerCase()}/${m[3] ?? ""}`,
  },
  {
    client: "sdk",
    pattern: new RegExp(`^google-genai-sdk/${VERSION}(?: gl-(node|python|go|java)/)?`, "i"),
    version: (m) => `google-genai${m[2] ? `-${m[2].toLowerCase()}` : ""}/${m[1] ?? ""}`,
  },
];

/** The first product token of an unknown user agent (`curl/8.5.0`), when it looks like one. */
const PRODUCT_TOKEN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,31}\/[0-9A-Za-z][0-9A-Za-z._+-]{0,15}/;
/** What a stored session id may contain: ids, UUIDs, ULIDs and the separators clients put in them. */
const SESSION_ID = /^[A-Za-z0-9._:@+=-]+$/;

/** A header's one value (the first, when repeated). */
type HeaderValue = string | readonly string[] | undefined;
const first = (value: HeaderValue): string | undefined => (typeof value === "string" ? value : value?.[0]);

/** The client of a request from its headers (lower-case names, as node:http and Fetch give them). */
export function clientOf(headers: Readonly<Record<string, HeaderValue>>): ClientInfo {
  const { client, clientVersion } = classifyUserAgent(first(headers["user-agent"]));
  let sessionId: string | null = null;
  for (const name of SESSION_HEADERS) {
    const value = first(headers[name]);
    if (value === undefined) continue;
    // The first header present decides: a bad value there is not replaced by another header's.
    sessionId = sanitizeSessionId(value);
    break;
  }
  return { client, clientVersion, sessionId };
}

/** The client a user agent names, with its version; `other` for anything else. */
export function classifyUserAgent(userAgent: string | undefined): Pick<ClientInfo, "client" | "clientVersion"> {
  // Only the head is read: the rules are anchored at the start, and an endless header costs nothing.
  const ua = (userAgent ?? "").slice(0, MAX_USER_AGENT_READ).trim();
  for (const rule of RULES) {
    const m = rule.pattern.exec(ua);
    if (m) return { client: rule.client, clientVersion: boundedVersion(rule.version(m)) };
  }
  return { client: "other", clientVersion: boundedVersion(PRODUCT_TOKEN.exec(ua)?.[0]) };
}

/** A session id as sent, or null when it is longer than MAX_SESSION_ID or has a character outside SESSION_ID. */
export function sanitizeSessionId(value: string): string | null {
  const id = value.trim();
  if (id.length === 0 || id.length > MAX_SESSION_ID || !SESSION_ID.test(id)) return null;
  return id;
}

function boundedVersion(version: string | undefined): string | null {
  if (!version) return null;
  return version.slice(0, MAX_CLIENT_VERSION);
}

/**
 * Redaction of captured bodies (docs/dashboard.md#body-capture): what the request log keeps
 * of a body never holds a key or secret the gateway can recognise. Runs off the request path
 * (the capture writer calls it before a batch is stored), on text already decoded.
 *
 * Three passes, each counted:
 * - the exact values of the gateway's own secrets (provider keys it injects, its dev token);
 * - in JSON (a whole body, or each `data:` line of an event stream), every value of a field
 *   whose last word is a secret word (`api_key`, `apiKey`, `x-api-key`, `access_token`,
 *   `client_secret`, `password`, `authorization`, …; not `max_tokens` or `totalTokenCount`);
 * - in every string, JSON members as text (`"password": "…"` quoted in a prompt, a body cut
 *   mid-JSON), the shapes of known credentials (below), and `NAME=value` / header lines whose
 *   name is a secret word.
 */
export const REDACTED = "[REDACTED]";

/** Last words of a field name that make its value a secret. */
const SECRET_WORDS = new Set(["key", "apikey", "secret", "token", "password", "passwd", "passphrase", "pwd", "authorization", "auth", "credential", "credentials", "cookie", "bearer"]);

/** Splits a field name into lower-case words: `apiKey` → api, key; `x-api-key` → x, api, key; `AWS_SECRET_ACCESS_KEY` → …, key. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

const fieldVerdicts = new Map<string, boolean>();

export function isSecretField(name: string): boolean {
  let verdict = fieldVerdicts.get(name);
  if (verdict === undefined) {
    const last = words(name).at(-1);
    verdict = last !== undefined && SECRET_WORDS.has(last);
    // Field names repeat (every event of a stream has the same ones); the bound keeps odd bodies from growing it.
    if (fieldVerdicts.size < 10_000) fieldVerdicts.set(name, verdict);
  }
  return verdict;
}

/** Credential shapes, replaced wherever they appear in text. */
const CREDENTIAL_PATTERNS: readonly RegExp[] = [
  // PEM private keys, also one cut before its END line.
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
  // OpenAI / Anthropic style keys (sk-…, sk-proj-…, sk-ant-api03-…).
  /\bsk-[A-Za-z0-9_-]{12,}/g,
  // The gateway's service account keys.
  /\bghsa_[A-Za-z0-9_-]{8,}/g,
  // GitHub, GitLab, Slack, Groq, Google, Hugging Face tokens.
  /\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{16,}|xox[abposr]-[A-Za-z0-9-]{10,}|gsk_[A-Za-z0-9]{16,}|AIza[0-9A-Za-z_-]{30,}|hf_[A-Za-z0-9]{20,})/g,
  // AWS access key ids.
  /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b/g,
  // JWTs: the gateway's own signed tokens, IdP tokens.
  /\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g,
];

/** `Authorization: …`-like header lines: the name stays, the rest of the line goes. */
const HEADER_LINE = /\b((?:proxy-)?authorization|x-api-key|api-key|x-goog-api-key|cf-access-token|cookie|set-cookie)(\s*[:=]\s*)[^\r\n]+/gi;
/** A scheme and its credential, wherever it stands. */
const SCHEME_CREDENTIAL = /\b(Bearer|Basic|Token)(\s+)[A-Za-z0-9._~+/=-]{8,}/g;
/**
 * `NAME=value` and `name: value` where the name ends in a secret word (`.env` files and shell
 * lines pasted into prompts): `AWS_SECRET_ACCESS_KEY=…`, `db_password: …`, `apiKey = "…"`.
 * A prefix is joined to the secret word by a separator (or camel case), so `monkey: x` stays.
 */
const ASSIGNMENT = /(?<![A-Za-z0-9])((?:[A-Za-z0-9]+[_.-])*(?:[a-z0-9]+(?=[A-Z]))?(?:api[_-]?key|API[_-]?KEY|[Kk]ey|KEY|[Ss]ecret|SECRET|[Tt]oken|TOKEN|[Pp]assword|PASSWORD|[Pp]asswd|PASSWD|[Cc]redentials?|CREDENTIALS?))(\s*[=:]\s*)("[^"\r\n]*"|'[^'\r\n]*'|[^\s"',;]+)/g;
/** A JSON string member in text that did not parse (a cut body): `"api_key": "…"`. */
const JSON_MEMBER = /"((?:[^"\\]|\\.){1,128})"(\s*:\s*)"(?:[^"\\]|\\.)*"?/g;

export interface Redaction {
  text: string;
  /** Values replaced. */
  redactions: number;
}

class Counter {
  n = 0;
}

/** Redacts one body's text (JSON, an event stream, or anything else). */
export function redactBody(text: string, knownSecrets: readonly string[] = []): Redaction {
  const count = new Counter();
  let out = text;
  for (const secret of knownSecrets) {
    // Short values would redact ordinary words; the gateway's keys are long.
    if (secret.length < 8) continue;
    const parts = out.split(secret);
    if (parts.length > 1) {
      count.n += parts.length - 1;
      out = parts.join(REDACTED);
    }
  }
  const whole = parseJson(out);
  if (whole !== undefined) return { text: JSON.stringify(redactValue(whole, count)), redactions: count.n };
  // An event stream: each `data:` line's JSON is walked like a body; the text the deltas carry
  // is then checked as one text, since a model may stream a key in pieces ("sk-pr", "oj-…").
  const events: Array<{ prefix: string; value: object; suffix: string } | string> = out.split("\n").map((line) => {
    const data = /^(data:\s?)(.*?)(\r?)$/.exec(line);
    if (data) {
      const value = parseJson(data[2] ?? "");
      if (value !== undefined && typeof value === "object" && value !== null) return { prefix: data[1] ?? "", value: redactValue(value, count) as object, suffix: data[3] ?? "" };
    }
    return redactText(line, count);
  });
  redactAcrossDeltas(
    events.flatMap((e) => (typeof e === "string" ? [] : [e.value])),
    count,
  );
  return { text: events.map((e) => (typeof e === "string" ? e : `${e.prefix}${JSON.stringify(e.value)}${e.suffix}`)).join("\n"), redactions: count.n };
}

/** Fields that carry a stream's generated text in pieces, across providers (chat `content`, Anthropic `text`/`partial_json`, Responses `delta`, tool `arguments`). */
const DELTA_FIELDS = new Set(["content", "text", "delta", "partial_json", "arguments", "thinking", "refusal"]);

interface Piece {
  holder: Record<string, unknown>;
  key: string;
  value: string;
}

function collectPieces(value: unknown, into: Piece[]): void {
  if (Array.isArray(value)) for (const v of value) collectPieces(v, into);
  else if (value !== null && typeof value === "object") {
    const holder = value as Record<string, unknown>;
    for (const [k, v] of Object.entries(holder)) {
      if (typeof v === "string" && DELTA_FIELDS.has(k)) into.push({ holder, key: k, value: v });
      else collectPieces(v, into);
    }
  }
}

/**
 * The streamed text of all events joined, checked with the text patterns; a match that spans
 * pieces is removed from each piece it touches ([REDACTED] in the first).
 */
function redactAcrossDeltas(events: readonly object[], count: Counter): void {
  const pieces: Piece[] = [];
  for (const e of events) collectPieces(e, pieces);
  if (pieces.length < 2) return;
  const joined = pieces.map((p) => p.value).join("");
  const spans: Array<[number, number]> = [];
  const scratch = new Counter();
  for (const pattern of [...CREDENTIAL_PATTERNS, ASSIGNMENT, SCHEME_CREDENTIAL, HEADER_LINE]) {
    for (const m of joined.matchAll(new RegExp(pattern.source, pattern.flags))) {
      if (m[0].includes(REDACTED) || redactText(m[0], scratch) === m[0]) continue;
      spans.push([m.index, m.index + m[0].length]);
    }
  }
  if (spans.length === 0) return;
  let at = 0;
  for (const p of pieces) {
    const start = at;
    const end = at + p.value.length;
    at = end;
    let next = "";
    let pos = start;
    for (const [s, e] of spans.sort((a, b) => a[0] - b[0])) {
      if (e <= start || s >= end || e <= pos) continue;
      const from = Math.max(s, pos);
      next += p.value.slice(pos - start, from - start);
      if (s >= start) {
        next += REDACTED;
        count.n++;
      }
      pos = Math.min(e, end);
    }
    if (pos === start) continue;
    p.holder[p.key] = next + p.value.slice(pos - start);
  }
}

function parseJson(text: string): unknown {
  const t = text.trimStart();
  if (!t.startsWith("{") && !t.startsWith("[")) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

function redactValue(value: unknown, count: Counter): unknown {
  if (typeof value === "string") return redactText(value, count);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, count));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (isSecretField(k) && v !== null && v !== "") {
        count.n++;
        out[k] = REDACTED;
      } else out[k] = redactValue(v, count);
    }
    return out;
  }
  return value;
}

/**
 * What every pattern below needs somewhere in the text: a string without any of these (most
 * streamed deltas, most prose) cannot match one, and skips the ten replaces. Each entry is a
 * literal one of the patterns cannot match without (case-insensitively): a new pattern adds its own.
 */
const ANY_PATTERN = /sk-|ghsa_|gh[pousr]_|github_pat_|glpat-|xox[abposr]-|gsk_|AIza|hf_|A(?:KIA|SIA|BIA|CCA|GPA|IDA|ROA|NPA|NVA|PKA)|eyJ|PRIVATE KEY|key|secret|token|passw|credential|auth|cookie|bearer|basic/i;

/** The credential shapes and secret assignments of one string. */
export function redactText(text: string, count: Counter = new Counter()): string {
  if (!ANY_PATTERN.test(text)) return text;
  // JSON inside text (a prompt quoting a config, a body that was cut and does not parse).
  let out = text.replace(JSON_MEMBER, (m, name: string, sep: string) => (isSecretField(name) ? (count.n++, `"${name}"${sep}"${REDACTED}"`) : m));
  for (const pattern of CREDENTIAL_PATTERNS) {
    out = out.replace(pattern, () => (count.n++, REDACTED));
  }
  out = out.replace(HEADER_LINE, (_m, name: string, sep: string) => (count.n++, `${name}${sep}${REDACTED}`));
  out = out.replace(SCHEME_CREDENTIAL, (m, scheme: string, sep: string) => (m.endsWith(REDACTED) ? m : (count.n++, `${scheme}${sep}${REDACTED}`)));
  out = out.replace(ASSIGNMENT, (m, name: string, sep: string, value: string) => {
    if (value === REDACTED || value === `"${REDACTED}"` || /^\[REDACTED\]/.test(value)) return m;
    count.n++;
    return `${name}${sep}${REDACTED}`;
  });
  return out;
}

const encoder = new TextEncoder();

/**
 * The text cut to at most `maxBytes` of UTF-8, never in the middle of a character, and
 * without the run of key-like characters at the cut: a secret that started before the cut
 * and went on past it (so no pattern saw all of it) leaves no prefix behind.
 */
export function cutToBytes(text: string, maxBytes: number): { text: string; cut: boolean } {
  const bytes = encoder.encode(text);
  if (bytes.byteLength <= maxBytes) return { text, cut: false };
  const head = new TextDecoder("utf-8", { fatal: false }).decode(bytes.subarray(0, maxBytes), { stream: true });
  return { text: head.replace(/[A-Za-z0-9_\-+/=.~]+$/, ""), cut: true };
}

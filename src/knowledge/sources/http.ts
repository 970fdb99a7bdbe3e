/**
 * The one HTTP client the remote catalog sources (GitHub, GitLab, Backstage) share. It exists
 * so every source gets the same guarantees without repeating them:
 * - the token is sent only to the configured origin: a redirect elsewhere, or a pagination
 *   link to another host, is refused (never followed with or without the token);
 * - every response body is read with a byte cap, every request with a deadline;
 * - rate limits are respected: the provider's headers say how long to wait (a 429, or a 403
 *   that carries them), the wait is slept through when short and fails the source when long;
 * - the secret never appears in an error: every message is redacted before it leaves.
 */

/** What a provider's rate-limit headers say about the next request. */
export interface RateLimitSignal {
  /** Wait this long, then retry the same request (retry-after, an exhausted window on an error response). */
  retryAfterMs?: number;
  /** The window is spent: no request before this time (epoch ms), even after a success. */
  blockedUntil?: number;
}

export interface ApiClientOptions {
  /** Origin and path prefix every request stays under, e.g. `https://api.github.com`. */
  baseUrl: string;
  /** Sent on every request: auth, accept, API version. */
  headers: Readonly<Record<string, string>>;
  /** Values scrubbed from every error message (the token). */
  secrets: readonly string[];
  /** Per-request deadline; default 30 s. */
  timeoutMs?: number;
  /** Longest rate-limit wait slept through; a longer one fails the read. Default 60 s. */
  maxRateLimitWaitMs?: number;
  /** Reads the provider's rate-limit headers from a response. */
  rateLimit: (response: Response, now: number) => RateLimitSignal;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** The body as text, or "" for HEAD and 304. */
  text: string;
  url: string;
}

/** A failure of one request, with a message safe to store and show (secrets redacted). */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A body over the byte cap: the caller decides whether that fails the file or the source. */
export class BodyTooLargeError extends ApiError {
  override name = "BodyTooLargeError";
}

const MAX_REDIRECTS = 3;
const MAX_RATE_LIMIT_RETRIES = 3;
/** GitHub's advice when a rate-limit error carries no header: wait at least a minute. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

export class ApiClient {
  private readonly base: URL;
  private readonly fetchFn: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private blockedUntil = 0;
  /** Requests sent, for the refresh report and the tests' cost checks. */
  requests = 0;

  constructor(private readonly options: ApiClientOptions) {
    this.base = new URL(options.baseUrl.endsWith("/") ? options.baseUrl : `${options.baseUrl}/`);
    this.fetchFn = options.fetch ?? fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  /** A path below the base URL (`orgs/x/repos`), or an absolute URL that must stay under it. */
  resolve(pathOrUrl: string): URL {
    const url = new URL(pathOrUrl.replace(/^\//, ""), this.base);
    this.assertSameOrigin(url, "link");
    return url;
  }

  /**
   * One request. Redirects are followed by hand, only within the origin; rate-limit answers
   * are waited out and retried (bounded); any other status is returned to the caller.
   */
  async request(pathOrUrl: string | URL, init: { method?: "GET" | "HEAD" | "POST"; headers?: Record<string, string>; body?: string; maxBytes: number }): Promise<ApiResponse> {
    let url = typeof pathOrUrl === "string" ? this.resolve(pathOrUrl) : pathOrUrl;
    this.assertSameOrigin(url, "request");
    let redirects = 0;
    let rateLimited = 0;
    for (;;) {
      await this.waitForWindow();
      const response = await this.send(url, init.method ?? "GET", init.headers, init.body);
      const signal = this.options.rateLimit(response, this.now());
      if (signal.blockedUntil !== undefined) this.blockedUntil = Math.max(this.blockedUntil, signal.blockedUntil);
      if (response.status >= 300 && response.status < 400 && response.status !== 304) {
        await response.body?.cancel();
        const location = response.headers.get("location");
        if (!location) throw this.error(`${url.pathname}: HTTP ${response.status} without a Location header`, response.status);
        const next = new URL(location, url);
        if (next.origin !== this.base.origin) {
          throw this.error(`${url.pathname}: redirected to another host (${next.origin}); refused, the token is only sent to ${this.base.origin}. Point the source at the API's final URL.`, response.status);
        }
        if (++redirects > MAX_REDIRECTS) throw this.error(`${url.pathname}: more than ${MAX_REDIRECTS} redirects`, response.status);
        url = next;
        continue;
      }
      if (isRateLimited(response, signal)) {
        await response.body?.cancel();
        const waitMs = signal.retryAfterMs ?? (signal.blockedUntil !== undefined ? signal.blockedUntil - this.now() : DEFAULT_RATE_LIMIT_WAIT_MS);
        if (++rateLimited > MAX_RATE_LIMIT_RETRIES) throw this.error(`${url.pathname}: still rate limited after ${MAX_RATE_LIMIT_RETRIES} waits (HTTP ${response.status})`, response.status);
        this.blockedUntil = Math.max(this.blockedUntil, this.now() + Math.max(0, waitMs));
        continue;
      }
      const text = init.method === "HEAD" || response.status === 304 ? (await response.body?.cancel(), "") : await this.readCapped(response, init.maxBytes, url);
      return { status: response.status, headers: response.headers, text, url: url.toString() };
    }
  }

  /** The error message for a non-success answer: the provider's own `message` when it has one. */
  failure(what: string, response: ApiResponse): ApiError {
    return this.error(`${what}: HTTP ${response.status}${providerMessage(response.text)}`, response.status);
  }

  /** Scrubs every secret from a message; the only way messages leave this client. */
  redact(message: string): string {
    let out = message;
    for (const secret of this.options.secrets) if (secret.length > 0) out = out.split(secret).join("[redacted]");
    return out;
  }

  error(message: string, status?: number): ApiError {
    return new ApiError(this.redact(message), status);
  }

  private async waitForWindow(): Promise<void> {
    const waitMs = this.blockedUntil - this.now();
    if (waitMs <= 0) return;
    const max = this.options.maxRateLimitWaitMs ?? 60_000;
    if (waitMs > max) {
      throw this.error(`rate limited by ${this.base.origin} until ${new Date(this.blockedUntil).toISOString()} (${Math.ceil(waitMs / 1000)} s, over the ${Math.round(max / 1000)} s this refresh waits); the next refresh retries`);
    }
    await this.sleep(waitMs);
    // Served: the next request goes, and its answer says whether to wait again.
    this.blockedUntil = 0;
  }

  private async send(url: URL, method: string, headers: Record<string, string> | undefined, body: string | undefined): Promise<Response> {
    this.requests += 1;
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    try {
      return await this.fetchFn(url, { method, headers: { ...this.options.headers, ...headers }, ...(body !== undefined ? { body } : {}), redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const reason = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError") ? `timed out after ${timeoutMs} ms` : describeFetchError(err);
      throw this.error(`${method} ${url.origin}${url.pathname}: ${reason}`);
    }
  }

  private async readCapped(response: Response, maxBytes: number, url: URL): Promise<string> {
    const declared = Number(response.headers.get("content-length"));
    if (Number.isFinite(declared) && declared > maxBytes) {
      await response.body?.cancel();
      throw new BodyTooLargeError(this.redact(`${url.pathname}: response is ${declared} bytes, over the ${maxBytes}-byte limit`), response.status);
    }
    if (!response.body) return "";
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        // Counted as it arrives: a server that sends no or a false Content-Length is cut here.
        if (total > maxBytes) {
          await reader.cancel();
          throw new BodyTooLargeError(this.redact(`${url.pathname}: response is over the ${maxBytes}-byte limit`), response.status);
        }
        chunks.push(value);
      }
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw this.error(`${url.pathname}: reading the response failed: ${describeFetchError(err)}`, response.status);
    }
    return new TextDecoder().decode(Buffer.concat(chunks));
  }

  private assertSameOrigin(url: URL, what: string): void {
    if (url.origin !== this.base.origin) throw this.error(`${what} to another host (${url.origin}) refused: the token is only sent to ${this.base.origin}`);
  }
}

function isRateLimited(response: Response, signal: RateLimitSignal): boolean {
  if (response.status === 429) return true;
  // A 403 is a rate limit only when the headers say so; otherwise it is a permission problem.
  return response.status === 403 && (signal.retryAfterMs !== undefined || signal.blockedUntil !== undefined);
}

/** `Link: <url>; rel="next", …` (RFC 8288, as GitHub and GitLab send it): the next page's URL. */
export function nextLink(headers: Headers): string | undefined {
  const link = headers.get("link");
  if (!link) return undefined;
  for (const part of link.split(",")) {
    const match = /<([^>]+)>\s*;(.*)/.exec(part.trim());
    if (match?.[1] && /\brel="?([^";]*\s)?next(\s[^";]*)?"?/.test(match[2] ?? "")) return match[1];
  }
  return undefined;
}

/** Seconds in a Retry-After header (delta-seconds or an HTTP date), as ms. */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const value = headers.get("retry-after");
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function providerMessage(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === "object" && body !== null) {
      const message = (body as Record<string, unknown>)["message"] ?? (body as Record<string, unknown>)["error"];
      if (typeof message === "string") return ` (${message.slice(0, 200)})`;
      if (typeof message === "object" && message !== null) {
        const inner = (message as Record<string, unknown>)["message"];
        if (typeof inner === "string") return ` (${inner.slice(0, 200)})`;
      }
    }
  } catch {
    // Not JSON (an HTML error page from a proxy): show its start, it is often the only clue.
    return text.trim() ? ` (${text.trim().slice(0, 120)})` : "";
  }
  return "";
}

function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const code = typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined;
  return typeof code === "string" ? `${err.message} (${code})` : err.message;
}

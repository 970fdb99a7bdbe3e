import { isRecord } from "../model/json.ts";
import { PlatformError } from "./types.ts";

export interface ApiClientOptions {
  platform: string;
  baseUrl: string;
  headers: Record<string, string>;
  fetch?: typeof fetch | undefined;
  timeoutMs?: number | undefined;
}

/** JSON over a code host's REST API; the token is in headers only and never in error text. */
export class ApiClient {
  private readonly fetchImpl: typeof fetch;
  readonly baseUrl: string;

  constructor(private readonly options: ApiClientOptions) {
    this.fetchImpl = options.fetch ?? fetch;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
  }

  async request(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; headers: Headers }> {
    const url = path.startsWith("http") ? path : `${this.baseUrl}${path}`;
    const headers: Record<string, string> = { accept: "application/json", ...this.options.headers };
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await this.fetchImpl(url, { method, headers, body: body === undefined ? null : JSON.stringify(body), signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000) });
    } catch (err) {
      throw new PlatformError(this.options.platform, 0, `${method} ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const text = await response.text();
    let json: unknown = undefined;
    if (text !== "") {
      try {
        json = JSON.parse(text);
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        json = text;
      }
    }
    return { status: response.status, json, headers: response.headers };
  }

  async ok(method: string, path: string, body?: unknown): Promise<unknown> {
    const result = await this.request(method, path, body);
    if (result.status >= 300) throw new PlatformError(this.options.platform, result.status, `${method} ${path} → ${result.status} ${errorText(result.json)}`);
    return result.json;
  }

  /** All pages of a list endpoint: follows GitHub's `Link: rel="next"` and GitLab's `x-next-page`. */
  async all(path: string): Promise<unknown[]> {
    const items: unknown[] = [];
    let next: string | undefined = `${path}${path.includes("?") ? "&" : "?"}per_page=100`;
    for (let page = 0; next !== undefined && page < 50; page += 1) {
      const result = await this.request("GET", next);
      if (result.status >= 300) throw new PlatformError(this.options.platform, result.status, `GET ${path} → ${result.status} ${errorText(result.json)}`);
      if (!Array.isArray(result.json)) throw new PlatformError(this.options.platform, result.status, `GET ${path} did not return a list`);
      items.push(...(result.json as unknown[]));
      const link = /<([^>]+)>;\s*rel="next"/.exec(result.headers.get("link") ?? "");
      const nextPage = result.headers.get("x-next-page");
      next = link?.[1] ?? (nextPage ? `${path}${path.includes("?") ? "&" : "?"}per_page=100&page=${nextPage}` : undefined);
    }
    return items;
  }
}

function errorText(json: unknown): string {
  if (isRecord(json)) {
    const message = json["message"] ?? json["error"];
    const errors = Array.isArray(json["errors"]) ? ` ${JSON.stringify(json["errors"])}` : "";
    return `${typeof message === "string" ? message : JSON.stringify(message)}${errors}`;
  }
  return typeof json === "string" ? json.slice(0, 300) : "";
}

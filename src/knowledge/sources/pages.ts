import { ApiError, type ApiClient, type ApiResponse } from "./http.ts";

/** Injected by tests (a fake clock's sleep) and by the runtime (global fetch). */
export interface RemoteSourceDeps {
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  timeoutMs?: number;
  maxRateLimitWaitMs?: number;
}

/** A listing page is JSON: 16 MiB bounds 100 repositories or projects with room to spare. */
const MAX_PAGE_BYTES = 16 * 1024 * 1024;

/**
 * Every item of a paged listing. A next link already visited is a pagination loop and fails
 * the read (a server bug must not spin the refresh forever, nor return a half list as whole),
 * as does running past `maxPages`. Next links may not leave the API's origin (the client
 * refuses them), so a listing cannot send the token elsewhere.
 */
export async function collectPages<T>(client: ApiClient, first: string, options: { what: string; maxPages: number; next: (response: ApiResponse) => string | undefined; items: (body: unknown) => T[] }): Promise<T[]> {
  const items: T[] = [];
  const visited = new Set<string>();
  let url: URL | undefined = client.resolve(first);
  while (url) {
    const key = url.toString();
    if (visited.has(key)) throw client.error(`listing ${options.what}: the next-page link points back to a page already read (${url.pathname}${url.search}); the listing is refused rather than read in a loop`);
    if (visited.size >= options.maxPages) throw client.error(`listing ${options.what}: more than ${options.maxPages} pages; refused rather than read without end`);
    visited.add(key);
    const response = await client.request(url, { maxBytes: MAX_PAGE_BYTES });
    if (response.status !== 200) throw client.failure(`listing ${options.what}`, response);
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch (err) {
      throw new ApiError(client.redact(`listing ${options.what}: the answer is not JSON (${err instanceof Error ? err.message : String(err)})`), response.status);
    }
    try {
      items.push(...options.items(body));
    } catch (err) {
      throw new ApiError(client.redact(`listing ${options.what}: unexpected answer shape (${err instanceof Error ? err.message.slice(0, 200) : String(err)})`), response.status);
    }
    const next = options.next(response);
    url = next === undefined ? undefined : client.resolve(next);
  }
  return items;
}

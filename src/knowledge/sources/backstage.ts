import { CatalogClient, type QueryEntitiesRequest } from "@backstage/catalog-client";
import type { Entity } from "@backstage/catalog-model";
import type { DescriptorFile } from "../descriptors.ts";
import { refKey } from "../entity.ts";
import type { CatalogSource, SourceSnapshot } from "../source.ts";
import { ApiClient, ApiError, retryAfterMs, type RateLimitSignal } from "./http.ts";
import type { RemoteSourceDeps } from "./pages.ts";

export interface BackstageSourceOptions {
  id: string;
  /** The Backstage backend's base URL (`backend.baseUrl`), e.g. `https://backstage.example.com`; the catalog is at `/api/catalog`. */
  url: string;
  /** A static external-access token (`backend.auth.externalAccess`), sent as a bearer token to `url` only. */
  token: string | undefined;
  /** Entity filter (`kind`, `spec.type`, …), as the catalog API's `filter`; default: the kinds this catalog validates. */
  filter?: Record<string, string | string[]>;
  /** Entities per page; default 500. */
  pageSize?: number;
  /** Pages read at most; default 1,000 (500,000 entities). */
  maxPages?: number;
  deps?: RemoteSourceDeps;
}

/** Kinds with a validator here: asking for others (Template, custom kinds) would only fill the report with refusals. */
export const DEFAULT_BACKSTAGE_KINDS = ["Component", "API", "Resource", "System", "Domain", "Group", "User", "Location"];

/** A page of entities is JSON; 64 MiB bounds 500 entities with large API definitions. */
const MAX_PAGE_BYTES = 64 * 1024 * 1024;

/** Backstage sends Retry-After on a 429 (from a rate-limiting proxy or its own limiter). */
function backstageRateLimit(response: Response, now: number): RateLimitSignal {
  const retry = retryAfterMs(response.headers, now);
  return retry === undefined ? {} : { retryAfterMs: retry };
}

/**
 * The entities of a running Backstage, through its catalog REST API with
 * `@backstage/catalog-client` (`queryEntities`, cursor-paged, `GET
 * /api/catalog/entities/by-query`). Each entity is validated again with
 * `@backstage/catalog-model` like a descriptor from a repository, and stored as if it were
 * a file of its own (`url:<base>/api/catalog/entities/by-name/<kind>/<ns>/<name>`), so the
 * refresh's diff applies: an entity whose JSON did not change is not parsed or written.
 * The fields Backstage computes (`relations`, `status`, `metadata.uid`/`etag`) are left
 * out: relations are derived here from the spec, and another entity's change must not
 * count as this one's.
 */
export function backstageCatalogSource(options: BackstageSourceOptions): CatalogSource {
  const base = options.url.replace(/\/$/, "");
  return {
    id: options.id,
    target: `${base}/api/catalog`,
    async read(): Promise<SourceSnapshot> {
      const http = new ApiClient({
        baseUrl: base,
        headers: { accept: "application/json", ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
        secrets: options.token ? [options.token] : [],
        rateLimit: backstageRateLimit,
        ...options.deps,
      });
      const catalog = new CatalogClient({ discoveryApi: { getBaseUrl: () => Promise.resolve(`${base}/api/catalog`) }, fetchApi: { fetch: throughClient(http) } });
      const files: DescriptorFile[] = [];
      const cursors = new Set<string>();
      const maxPages = options.maxPages ?? 1000;
      let request: QueryEntitiesRequest = { filter: options.filter ?? { kind: DEFAULT_BACKSTAGE_KINDS }, limit: options.pageSize ?? 500, totalItems: "exclude" };
      for (let page = 0; ; page += 1) {
        if (page >= maxPages) throw http.error(`listing entities of ${base}: more than ${maxPages} pages; refused rather than read without end`);
        let response;
        try {
          response = await catalog.queryEntities(request);
        } catch (err) {
          // The client's ResponseError carries the catalog's own message (401 "Unauthorized", 500 …): redacted before it is kept.
          throw http.error(`${base}/api/catalog: ${err instanceof Error ? err.message : String(err)}`);
        }
        for (const entity of response.items) files.push(entityFile(base, entity));
        const next = response.pageInfo.nextCursor;
        if (!next) break;
        if (cursors.has(next)) throw http.error(`listing entities of ${base}: the next cursor repeats one already read; the listing is refused rather than read in a loop`);
        cursors.add(next);
        request = { cursor: next, limit: options.pageSize ?? 500 };
      }
      return { files, errors: [] };
    },
  };
}

function entityFile(base: string, entity: Entity): DescriptorFile {
  const { relations: _relations, status: _status, ...rest } = entity as Entity & { status?: unknown };
  const { uid: _uid, etag: _etag, ...metadata } = rest.metadata;
  const ref = refKey(entity);
  const [kind, name] = ref.split(":") as [string, string];
  const [namespace, entityName] = name.split("/") as [string, string];
  return { location: `url:${base}/api/catalog/entities/by-name/${kind}/${namespace}/${entityName}`, text: JSON.stringify({ ...rest, metadata }) };
}

/**
 * The fetch the catalog client uses, through the shared client: same-origin only, bounded
 * bodies, a deadline, rate limits, redaction. Reads only: GET, and the POST of the
 * predicate query (`POST /entities/by-query`), which the client uses for the next pages
 * when the backend's cursor carries a predicate, as catalog-backend 4.x cursors do.
 */
function throughClient(http: ApiClient): typeof fetch {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : input.toString();
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const isQuery = method === "POST" && new URL(url).pathname.endsWith("/api/catalog/entities/by-query");
    if (method !== "GET" && !isQuery) throw new ApiError(`the Backstage source only reads; the catalog client asked for ${method} ${url}`);
    if (isQuery && typeof init?.body !== "string") throw new ApiError("the catalog client's query body is not a JSON string");
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, key) => {
      // The shared client sets the credential; never one the caller passed.
      if (key !== "authorization") headers[key] = value;
    });
    const body = isQuery && typeof init?.body === "string" ? init.body : undefined;
    const response = await http.request(http.resolve(url), { method: isQuery ? "POST" : "GET", headers, ...(body !== undefined ? { body } : {}), maxBytes: MAX_PAGE_BYTES });
    return new Response(response.text === "" && (response.status === 204 || response.status === 304) ? null : response.text, { status: response.status, headers: response.headers });
  };
}

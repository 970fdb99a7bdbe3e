import type { IncomingMessage, ServerResponse } from "node:http";
import { gitBlobSha, pageLinks, sendJson, startFakeHttp, type ArmedFault, type FakeHttp, type LoggedRequest } from "../fake-scm/server.ts";

/**
 * A fake GitHub REST API for the endpoints the catalog's GitHub source uses, in GitHub's
 * documented wire format (docs.github.com/rest, API version 2022-11-28):
 * - `GET /orgs/{org}/repos` (List organization repositories): `per_page` (max 100) and
 *   `page`, a `Link` header with rel="next"/"last"/"first"/"prev";
 * - `GET /repos/{owner}/{repo}/contents/{path}?ref=` (Get repository content): the default
 *   and the object media types (base64 `content` with a newline every 60 characters; for a
 *   file over 1 MB `encoding: "none"` and an empty `content` under the object type, a 403
 *   `too_large` error under the default type), an `ETag`, and `304 Not Modified` on a
 *   matching `If-None-Match`;
 * - `Authorization: Bearer <token>` checked on every request (401 `Bad credentials`);
 * - `x-ratelimit-limit/-remaining/-used/-reset/-resource` on every answer; a 304 is free.
 * Faults (`fake.faults`) inject what the real API also does: 5xx, secondary rate limits
 * (403 + retry-after), a 301 for a moved repository, a hang.
 */
export interface FakeGitHubRepo {
  name: string;
  defaultBranch: string;
  archived: boolean;
  fork: boolean;
  /** ISO time of the last push; moves on every file change. */
  pushedAt: string;
  /** Path → text, on the default branch. */
  files: Map<string, string>;
}

export interface FakeGitHub {
  url: string;
  org: string;
  repos: Map<string, FakeGitHubRepo>;
  requests: LoggedRequest[];
  faults: ArmedFault[];
  /** Quota left in the current window; at 0 every request answers 403 until `rateLimitReset`. */
  rateLimitRemaining: number;
  /** Epoch seconds when the window resets. */
  rateLimitReset: number;
  /** Answers Link next pointing back to page 1 from the last page (a broken server), when set. */
  loopPagination: boolean;
  addRepo(name: string, files: Record<string, string>, options?: Partial<Pick<FakeGitHubRepo, "archived" | "fork" | "defaultBranch">>): FakeGitHubRepo;
  /** Writes a file on the default branch: a push (pushed_at moves on). */
  push(name: string, path: string, text: string | undefined): void;
  /** A push that leaves the descriptor alone (pushed_at moves on, the file's ETag does not). */
  touch(name: string): void;
  close(): Promise<void>;
}

const LIMIT = 5000;
const ONE_MB = 1024 * 1024;

export async function startFakeGitHub(options: { org: string; token: string; perPageMax?: number }): Promise<FakeGitHub> {
  const repos = new Map<string, FakeGitHubRepo>();
  let clock = Date.parse("2026-01-01T00:00:00Z");
  const nextPush = (): string => {
    clock += 60_000;
    return new Date(clock).toISOString().replace(/\.\d{3}Z$/, "Z");
  };
  /** Where this fake listens, for the URLs it writes into answers (set once listening). */
  const self = { url: "" };
  const state = {
    rateLimitRemaining: LIMIT,
    rateLimitReset: Math.floor(Date.now() / 1000) + 3600,
    loopPagination: false,
  };

  const rateHeaders = (): Record<string, string> => ({
    "x-ratelimit-limit": String(LIMIT),
    "x-ratelimit-remaining": String(state.rateLimitRemaining),
    "x-ratelimit-used": String(LIMIT - state.rateLimitRemaining),
    "x-ratelimit-reset": String(state.rateLimitReset),
    "x-ratelimit-resource": "core",
    "x-github-api-version-selected": "2022-11-28",
  });

  const repoJson = (repo: FakeGitHubRepo, index: number): Record<string, unknown> => ({
    id: 1000 + index,
    node_id: `R_${1000 + index}`,
    name: repo.name,
    full_name: `${options.org}/${repo.name}`,
    private: true,
    owner: { login: options.org, id: 1, type: "Organization" },
    html_url: `https://github.com/${options.org}/${repo.name}`,
    description: null,
    fork: repo.fork,
    url: `${self.url}/repos/${options.org}/${repo.name}`,
    archived: repo.archived,
    disabled: false,
    visibility: "private",
    default_branch: repo.defaultBranch,
    pushed_at: repo.pushedAt,
    created_at: "2025-01-01T00:00:00Z",
    updated_at: repo.pushedAt,
  });

  const handle = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const notFound = (doc: string): void => sendJson(res, 404, { message: "Not Found", documentation_url: doc, status: "404" }, rateHeaders());
    if (req.headers["authorization"] !== `Bearer ${options.token}`) {
      sendJson(res, 401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" });
      return;
    }
    if (state.rateLimitRemaining <= 0) {
      sendJson(res, 403, { message: "API rate limit exceeded for user ID 1.", documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api", status: "403" }, rateHeaders());
      return;
    }
    const list = /^\/orgs\/([^/]+)\/repos$/.exec(url.pathname);
    if (req.method === "GET" && list) {
      state.rateLimitRemaining -= 1;
      if (decodeURIComponent(list[1] ?? "") !== options.org) return notFound("https://docs.github.com/rest/repos/repos#list-organization-repositories");
      const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 30) || 30, options.perPageMax ?? 100);
      const page = Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1);
      const all = [...repos.values()].sort((a, b) => a.name.localeCompare(b.name));
      const lastPage = Math.max(1, Math.ceil(all.length / perPage));
      const items = all.slice((page - 1) * perPage, page * perPage).map((repo) => repoJson(repo, all.indexOf(repo)));
      const base = `${self.url}/orgs/${options.org}/repos`;
      let link = pageLinks(base, url.searchParams, page, lastPage);
      if (state.loopPagination && page === lastPage) link = `<${base}?${new URLSearchParams({ ...Object.fromEntries(url.searchParams), page: "1" }).toString()}>; rel="next", ${link}`;
      sendJson(res, 200, items, { ...rateHeaders(), link });
      return;
    }
    const contents = /^\/repos\/([^/]+)\/([^/]+)\/contents\/(.+)$/.exec(url.pathname);
    if (req.method === "GET" && contents) {
      const repo = decodeURIComponent(contents[1] ?? "") === options.org ? repos.get(decodeURIComponent(contents[2] ?? "")) : undefined;
      const path = decodeURIComponent(contents[3] ?? "");
      const ref = url.searchParams.get("ref") ?? repo?.defaultBranch;
      const text = repo && ref === repo.defaultBranch ? repo.files.get(path) : undefined;
      if (!repo || text === undefined) {
        state.rateLimitRemaining -= 1;
        return notFound("https://docs.github.com/rest/repos/contents#get-repository-content");
      }
      const sha = gitBlobSha(text);
      const accept = String(req.headers["accept"] ?? "");
      const objectType = accept.includes("application/vnd.github.object");
      const etag = `W/"${sha}${objectType ? "o" : ""}"`;
      if (req.headers["if-none-match"] === etag) {
        // Conditional requests answered 304 do not count against the primary rate limit.
        res.writeHead(304, { etag, ...rateHeaders() });
        res.end();
        return;
      }
      state.rateLimitRemaining -= 1;
      const size = Buffer.byteLength(text);
      if (size > ONE_MB && !objectType) {
        sendJson(
          res,
          403,
          {
            message: "This API returns blobs up to 1 MB in size. The requested blob is too large to fetch via the API, but you can use the Git Data API to request blobs up to 100 MB in size.",
            errors: [{ resource: "Blob", field: "data", code: "too_large" }],
            documentation_url: "https://docs.github.com/rest/repos/contents#get-repository-content",
            status: "403",
          },
          rateHeaders(),
        );
        return;
      }
      const selfLink = `${self.url}/repos/${options.org}/${repo.name}/contents/${path}?ref=${ref}`;
      const base64 =
        size > ONE_MB
          ? ""
          : (
              Buffer.from(text, "utf8")
                .toString("base64")
                .match(/.{1,60}/g) ?? []
            ).join("\n") + "\n";
      sendJson(
        res,
        200,
        {
          type: "file",
          encoding: size > ONE_MB ? "none" : "base64",
          size,
          name: path.split("/").pop(),
          path,
          content: base64,
          sha,
          url: selfLink,
          git_url: `${self.url}/repos/${options.org}/${repo.name}/git/blobs/${sha}`,
          html_url: `https://github.com/${options.org}/${repo.name}/blob/${ref}/${path}`,
          download_url: `https://raw.githubusercontent.com/${options.org}/${repo.name}/${ref}/${path}`,
          _links: { self: selfLink, git: `${self.url}/repos/${options.org}/${repo.name}/git/blobs/${sha}`, html: `https://github.com/${options.org}/${repo.name}/blob/${ref}/${path}` },
        },
        { ...rateHeaders(), etag },
      );
      return;
    }
    notFound("https://docs.github.com/rest");
  };

  const http: FakeHttp = await startFakeHttp(handle);
  self.url = http.url;
  const fake: FakeGitHub = {
    url: http.url,
    org: options.org,
    repos,
    requests: http.requests,
    faults: http.faults,
    get rateLimitRemaining() {
      return state.rateLimitRemaining;
    },
    set rateLimitRemaining(value: number) {
      state.rateLimitRemaining = value;
    },
    get rateLimitReset() {
      return state.rateLimitReset;
    },
    set rateLimitReset(value: number) {
      state.rateLimitReset = value;
    },
    get loopPagination() {
      return state.loopPagination;
    },
    set loopPagination(value: boolean) {
      state.loopPagination = value;
    },
    addRepo(name, files, extra = {}) {
      const repo: FakeGitHubRepo = { name, defaultBranch: extra.defaultBranch ?? "main", archived: extra.archived ?? false, fork: extra.fork ?? false, pushedAt: nextPush(), files: new Map(Object.entries(files)) };
      repos.set(name, repo);
      return repo;
    },
    push(name, path, text) {
      const repo = repos.get(name);
      if (!repo) throw new Error(`fake GitHub: no repo ${name}`);
      if (text === undefined) repo.files.delete(path);
      else repo.files.set(path, text);
      repo.pushedAt = nextPush();
    },
    touch(name) {
      const repo = repos.get(name);
      if (!repo) throw new Error(`fake GitHub: no repo ${name}`);
      repo.pushedAt = nextPush();
    },
    close: () => http.close(),
  };
  return fake;
}

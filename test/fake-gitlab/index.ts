import type { IncomingMessage, ServerResponse } from "node:http";
import { createHash } from "node:crypto";
import { gitBlobSha, pageLinks, sendJson, startFakeHttp, type ArmedFault, type FakeHttp, type LoggedRequest } from "../fake-scm/server.ts";

/**
 * A fake GitLab REST API (v4) for the endpoints the catalog's GitLab source uses, in
 * GitLab's documented wire format (docs.gitlab.com/api):
 * - `GET /api/v4/groups/:id/projects` (List a group's projects): `:id` a numeric id or the
 *   URL-encoded full path, `include_subgroups`, `archived`, `simple`, `per_page` (max 100),
 *   `page`; offset-pagination headers `x-page`, `x-per-page`, `x-total`, `x-total-pages`,
 *   `x-next-page`, `x-prev-page` and a `Link` header;
 * - `HEAD /api/v4/projects/:id/repository/files/:file_path?ref=` (file metadata in
 *   `X-Gitlab-*` headers: blob id, size, commit ids, content sha256…), 404 `404 File Not Found`;
 * - `GET /api/v4/projects/:id/repository/files/:file_path/raw?ref=` (the raw file);
 * - `PRIVATE-TOKEN` (or `Authorization: Bearer`) checked on every request: 401 `401 Unauthorized`;
 * - `RateLimit-Limit/-Observed/-Remaining/-Reset/-ResetTime` on answers; 429 + Retry-After.
 */
export interface FakeGitLabProject {
  id: number;
  path: string;
  /** Full path of the group it is in (`platform/payments`). */
  namespace: string;
  defaultBranch: string | null;
  archived: boolean;
  files: Map<string, string>;
  lastCommitId: string;
}

export interface FakeGitLab {
  /** The instance root; the API is at `${url}/api/v4`. */
  url: string;
  apiUrl: string;
  projects: Map<number, FakeGitLabProject>;
  requests: LoggedRequest[];
  faults: ArmedFault[];
  loopPagination: boolean;
  addProject(namespace: string, path: string, files: Record<string, string>, options?: { archived?: boolean; defaultBranch?: string | null }): FakeGitLabProject;
  push(id: number, path: string, text: string | undefined): void;
  close(): Promise<void>;
}

const LIMIT = 2000;

export async function startFakeGitLab(options: { token: string; perPageMax?: number }): Promise<FakeGitLab> {
  const projects = new Map<number, FakeGitLabProject>();
  let nextId = 100;
  let commits = 0;
  const commitId = (): string => createHash("sha1").update(`commit-${++commits}`).digest("hex");
  /** Where this fake listens, for the URLs it writes into answers (set once listening). */
  const self = { url: "" };
  let observed = 0;
  const state = { loopPagination: false };

  const rateHeaders = (): Record<string, string> => {
    const reset = Math.floor(Date.now() / 1000) + 60;
    return {
      "ratelimit-limit": String(LIMIT),
      "ratelimit-observed": String(observed),
      "ratelimit-remaining": String(Math.max(0, LIMIT - observed)),
      "ratelimit-reset": String(reset),
      "ratelimit-resettime": new Date(reset * 1000).toUTCString(),
    };
  };

  const fileHeaders = (project: FakeGitLabProject, path: string, text: string, ref: string): Record<string, string> => ({
    "x-gitlab-blob-id": gitBlobSha(text),
    "x-gitlab-commit-id": project.lastCommitId,
    "x-gitlab-content-sha256": createHash("sha256").update(text).digest("hex"),
    "x-gitlab-encoding": "base64",
    "x-gitlab-file-name": path.split("/").pop() ?? path,
    "x-gitlab-file-path": path,
    "x-gitlab-last-commit-id": project.lastCommitId,
    "x-gitlab-ref": ref,
    "x-gitlab-size": String(Buffer.byteLength(text)),
    "x-gitlab-execute-filemode": "false",
  });

  const projectJson = (project: FakeGitLabProject): Record<string, unknown> => ({
    id: project.id,
    description: null,
    name: project.path,
    name_with_namespace: `${project.namespace.split("/").join(" / ")} / ${project.path}`,
    path: project.path,
    path_with_namespace: `${project.namespace}/${project.path}`,
    created_at: "2025-01-01T00:00:00.000Z",
    default_branch: project.defaultBranch,
    tag_list: [],
    topics: [],
    ssh_url_to_repo: `git@gitlab.example.com:${project.namespace}/${project.path}.git`,
    http_url_to_repo: `https://gitlab.example.com/${project.namespace}/${project.path}.git`,
    web_url: `https://gitlab.example.com/${project.namespace}/${project.path}`,
    readme_url: null,
    forks_count: 0,
    avatar_url: null,
    star_count: 0,
    last_activity_at: "2026-01-01T00:00:00.000Z",
    namespace: { id: 1, name: project.namespace.split("/").pop(), path: project.namespace.split("/").pop(), kind: "group", full_path: project.namespace },
  });

  const handle = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const token = req.headers["private-token"] ?? String(req.headers["authorization"] ?? "").replace(/^Bearer /, "");
    if (token !== options.token) {
      sendJson(res, 401, { message: "401 Unauthorized" });
      return;
    }
    observed += 1;
    const groupProjects = /^\/api\/v4\/groups\/([^/]+)\/projects$/.exec(url.pathname);
    if (req.method === "GET" && groupProjects) {
      const group = decodeURIComponent(groupProjects[1] ?? "");
      const subgroups = url.searchParams.get("include_subgroups") === "true";
      const archived = url.searchParams.get("archived");
      const inGroup = [...projects.values()].filter((p) => (p.namespace === group || (subgroups && p.namespace.startsWith(`${group}/`))) && (archived === null || String(p.archived) === archived));
      if (![...projects.values()].some((p) => p.namespace === group || p.namespace.startsWith(`${group}/`))) {
        sendJson(res, 404, { message: "404 Group Not Found" }, rateHeaders());
        return;
      }
      inGroup.sort((a, b) => a.id - b.id);
      const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 20) || 20, options.perPageMax ?? 100);
      const page = Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1);
      const totalPages = Math.max(1, Math.ceil(inGroup.length / perPage));
      const base = `${self.url}${url.pathname}`;
      let link = pageLinks(base, url.searchParams, page, totalPages);
      if (state.loopPagination && page === totalPages) link = `<${base}?${new URLSearchParams({ ...Object.fromEntries(url.searchParams), page: "1" }).toString()}>; rel="next", ${link}`;
      sendJson(res, 200, inGroup.slice((page - 1) * perPage, page * perPage).map(projectJson), {
        ...rateHeaders(),
        link,
        "x-page": String(page),
        "x-per-page": String(perPage),
        "x-total": String(inGroup.length),
        "x-total-pages": String(totalPages),
        "x-next-page": page < totalPages ? String(page + 1) : "",
        "x-prev-page": page > 1 ? String(page - 1) : "",
      });
      return;
    }
    const file = /^\/api\/v4\/projects\/([^/]+)\/repository\/files\/([^/]+)(\/raw)?$/.exec(url.pathname);
    if (file && (req.method === "HEAD" || req.method === "GET")) {
      const idOrPath = decodeURIComponent(file[1] ?? "");
      const project = /^\d+$/.test(idOrPath) ? projects.get(Number(idOrPath)) : [...projects.values()].find((p) => `${p.namespace}/${p.path}` === idOrPath);
      if (!project) {
        sendJson(res, 404, { message: "404 Project Not Found" }, rateHeaders());
        return;
      }
      const path = decodeURIComponent(file[2] ?? "");
      const ref = url.searchParams.get("ref");
      if (!ref) {
        sendJson(res, 400, { error: "ref is missing" }, rateHeaders());
        return;
      }
      const text = ref === project.defaultBranch ? project.files.get(path) : undefined;
      if (text === undefined) {
        sendJson(res, 404, { message: "404 File Not Found" }, rateHeaders());
        return;
      }
      const headers = { ...rateHeaders(), ...fileHeaders(project, path, text, ref) };
      if (req.method === "HEAD") {
        res.writeHead(200, { ...headers, "content-type": "application/json" });
        res.end();
        return;
      }
      if (file[3]) {
        res.writeHead(200, { ...headers, "content-type": "text/plain; charset=utf-8", "content-length": String(Buffer.byteLength(text)) });
        res.end(text);
        return;
      }
      sendJson(
        res,
        200,
        {
          file_name: path.split("/").pop(),
          file_path: path,
          size: Buffer.byteLength(text),
          encoding: "base64",
          content: Buffer.from(text).toString("base64"),
          content_sha256: headers["x-gitlab-content-sha256"],
          ref,
          blob_id: headers["x-gitlab-blob-id"],
          commit_id: project.lastCommitId,
          last_commit_id: project.lastCommitId,
          execute_filemode: false,
        },
        headers,
      );
      return;
    }
    sendJson(res, 404, { error: "404 Not Found" }, rateHeaders());
  };

  const http: FakeHttp = await startFakeHttp(handle);
  self.url = http.url;
  return {
    url: http.url,
    apiUrl: `${http.url}/api/v4`,
    projects,
    requests: http.requests,
    faults: http.faults,
    get loopPagination() {
      return state.loopPagination;
    },
    set loopPagination(value: boolean) {
      state.loopPagination = value;
    },
    addProject(namespace, path, files, extra = {}) {
      const project: FakeGitLabProject = { id: nextId++, path, namespace, defaultBranch: extra.defaultBranch === undefined ? "main" : extra.defaultBranch, archived: extra.archived ?? false, files: new Map(Object.entries(files)), lastCommitId: commitId() };
      projects.set(project.id, project);
      return project;
    },
    push(id, path, text) {
      const project = projects.get(id);
      if (!project) throw new Error(`fake GitLab: no project ${id}`);
      if (text === undefined) project.files.delete(path);
      else project.files.set(path, text);
      project.lastCommitId = commitId();
    },
    close: () => http.close(),
  };
}

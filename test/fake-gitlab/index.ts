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
 * And for the AGENTS.md merge request flow (docs.gitlab.com/api/projects, /branches,
 * /repository_files, /commits, /merge_requests, /repositories):
 * - `GET /projects/:id` (`default_branch`, `web_url`, `path_with_namespace`), 404 `404 Project Not Found`;
 * - `GET /projects/:id/repository/tree?recursive=true&ref=&per_page=&page=` (offset-paged, `x-next-page`);
 * - `GET /projects/:id/repository/branches/:branch` (404 `404 Branch Not Found`),
 *   `POST /projects/:id/repository/branches?branch=&ref=` (400 `Branch already exists`);
 * - the repository files API above on any branch;
 * - `POST /projects/:id/repository/commits` with `actions` (`create` of an existing file and
 *   `update` of a missing one answer 400 as GitLab does);
 * - `GET /projects/:id/merge_requests?state=&source_branch=&target_branch=`, `POST` (409
 *   `Another open merge request already exists for this source branch: !iid`), `PUT …/:iid`.
 */
export interface FakeGitLabProject {
  id: number;
  path: string;
  /** Full path of the group it is in (`platform/payments`). */
  namespace: string;
  defaultBranch: string | null;
  archived: boolean;
  /** The default branch's files. */
  files: Map<string, string>;
  lastCommitId: string;
  /** Every branch's files; the default branch's entry is `files` itself. */
  branches: Map<string, Map<string, string>>;
  mergeRequests: FakeMergeRequest[];
  /** Commits made through the commits API. */
  commits: number;
}

export interface FakeMergeRequest {
  iid: number;
  title: string;
  description: string;
  source_branch: string;
  target_branch: string;
  state: "opened" | "closed" | "merged";
  /** PUT updates it received. */
  updates: number;
}

export interface FakeGitLab {
  /** The instance root; the API is at `${url}/api/v4`. */
  url: string;
  apiUrl: string;
  projects: Map<number, FakeGitLabProject>;
  requests: LoggedRequest[];
  faults: ArmedFault[];
  loopPagination: boolean;
  /** Merge requests created through the API, all projects. */
  readonly mergeRequestsCreated: number;
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
  const state = { loopPagination: false, mergeRequestsCreated: 0 };

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
      const text = project.branches.get(ref)?.get(path);
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
    if (handleProjectApi(req, res, url)) return;
    sendJson(res, 404, { error: "404 Not Found" }, rateHeaders());
  };

  const findProject = (idOrPath: string): FakeGitLabProject | undefined => (/^\d+$/.test(idOrPath) ? projects.get(Number(idOrPath)) : [...projects.values()].find((p) => `${p.namespace}/${p.path}` === idOrPath));

  const readJson = (req: IncomingMessage): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        try {
          resolve(text === "" ? {} : (JSON.parse(text) as Record<string, unknown>));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
      req.on("error", reject);
    });

  const mrJson = (project: FakeGitLabProject, mr: FakeMergeRequest): Record<string, unknown> => ({
    id: project.id * 1000 + mr.iid,
    iid: mr.iid,
    project_id: project.id,
    title: mr.title,
    description: mr.description,
    state: mr.state,
    source_branch: mr.source_branch,
    target_branch: mr.target_branch,
    web_url: `https://gitlab.example.com/${project.namespace}/${project.path}/-/merge_requests/${mr.iid}`,
    created_at: "2026-01-01T00:00:00.000Z",
    updated_at: "2026-01-01T00:00:00.000Z",
  });

  /** The project endpoints of the merge request flow; false when the path is none of them. */
  const handleProjectApi = (req: IncomingMessage, res: ServerResponse, url: URL): boolean => {
    const match = /^\/api\/v4\/projects\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!match) return false;
    const project = findProject(decodeURIComponent(match[1] ?? ""));
    if (!project) {
      sendJson(res, 404, { message: "404 Project Not Found" }, rateHeaders());
      return true;
    }
    const rest = match[2] ?? "";
    const method = req.method ?? "GET";
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}): boolean => {
      sendJson(res, status, body, { ...rateHeaders(), ...headers });
      return true;
    };
    if (method === "GET" && rest === "") return answer(200, { ...projectJson(project), _links: {} });
    if (method === "GET" && rest === "/repository/tree") {
      const ref = url.searchParams.get("ref") ?? project.defaultBranch ?? "";
      const files = project.branches.get(ref);
      if (!files) return answer(404, { message: "404 Tree Not Found" });
      const recursive = url.searchParams.get("recursive") === "true";
      const entries = new Map<string, "blob" | "tree">();
      for (const path of [...files.keys()].sort()) {
        const parts = path.split("/");
        if (!recursive && parts.length > 1) {
          entries.set(parts[0] ?? "", "tree");
          continue;
        }
        for (let i = 1; i < parts.length; i++) entries.set(parts.slice(0, i).join("/"), "tree");
        entries.set(path, "blob");
      }
      const all = [...entries].sort(([a], [b]) => (a < b ? -1 : 1));
      const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 20) || 20, 100);
      const page = Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1);
      const totalPages = Math.max(1, Math.ceil(all.length / perPage));
      const items = all
        .slice((page - 1) * perPage, page * perPage)
        .map(([path, type]) => ({ id: type === "blob" ? gitBlobSha(files.get(path) ?? "") : createHash("sha1").update(path).digest("hex"), name: path.split("/").pop(), type, path, mode: type === "blob" ? "100644" : "040000" }));
      return answer(200, items, {
        link: pageLinks(`${self.url}${url.pathname}`, url.searchParams, page, totalPages),
        "x-page": String(page),
        "x-per-page": String(perPage),
        "x-total": String(all.length),
        "x-total-pages": String(totalPages),
        "x-next-page": page < totalPages ? String(page + 1) : "",
        "x-prev-page": page > 1 ? String(page - 1) : "",
      });
    }
    const branch = /^\/repository\/branches\/(.+)$/.exec(rest);
    if (method === "GET" && branch) {
      const name = decodeURIComponent(branch[1] ?? "");
      return project.branches.has(name)
        ? answer(200, { name, merged: false, protected: false, default: name === project.defaultBranch, commit: { id: project.lastCommitId }, web_url: `https://gitlab.example.com/${project.namespace}/${project.path}/-/tree/${name}` })
        : answer(404, { message: "404 Branch Not Found" });
    }
    if (method === "POST" && rest === "/repository/branches") {
      const name = url.searchParams.get("branch") ?? "";
      const ref = url.searchParams.get("ref") ?? "";
      if (project.branches.has(name)) return answer(400, { message: "Branch already exists" });
      const from = project.branches.get(ref);
      if (!from) return answer(400, { message: "Invalid reference name: " + ref });
      project.branches.set(name, new Map(from));
      return answer(201, { name, merged: false, protected: false, default: false, commit: { id: project.lastCommitId } });
    }
    if (method === "POST" && rest === "/repository/commits") {
      void readJson(req).then((body) => {
        const name = String(body["branch"] ?? "");
        const files = project.branches.get(name);
        if (!files) return answer(400, { message: "You can only create or edit files when you are on a branch" });
        const actions = Array.isArray(body["actions"]) ? (body["actions"] as Record<string, unknown>[]) : [];
        if (actions.length === 0) return answer(400, { error: "actions is missing" });
        for (const action of actions) {
          const path = String(action["file_path"] ?? "");
          if (action["action"] === "create" && files.has(path)) return answer(400, { message: "A file with this name already exists" });
          if (action["action"] === "update" && !files.has(path)) return answer(400, { message: "A file with this name doesn't exist" });
        }
        for (const action of actions) {
          const content = String(action["content"] ?? "");
          files.set(String(action["file_path"]), action["encoding"] === "base64" ? Buffer.from(content, "base64").toString("utf8") : content);
        }
        project.commits += 1;
        project.lastCommitId = commitId();
        return answer(201, {
          id: project.lastCommitId,
          short_id: project.lastCommitId.slice(0, 8),
          title: String(body["commit_message"] ?? ""),
          message: String(body["commit_message"] ?? ""),
          web_url: `https://gitlab.example.com/${project.namespace}/${project.path}/-/commit/${project.lastCommitId}`,
        });
      });
      return true;
    }
    if (method === "GET" && rest === "/merge_requests") {
      const state = url.searchParams.get("state") ?? "all";
      const source = url.searchParams.get("source_branch");
      const target = url.searchParams.get("target_branch");
      const list = project.mergeRequests.filter((mr) => (state === "all" || mr.state === state) && (!source || mr.source_branch === source) && (!target || mr.target_branch === target));
      return answer(200, list.map((mr) => mrJson(project, mr)).reverse(), { "x-page": "1", "x-per-page": "20", "x-total": String(list.length), "x-total-pages": "1", "x-next-page": "", "x-prev-page": "" });
    }
    if (method === "POST" && rest === "/merge_requests") {
      void readJson(req).then((body) => {
        const source = String(body["source_branch"] ?? "");
        const target = String(body["target_branch"] ?? "");
        if (!project.branches.has(source)) return answer(404, { message: "404 Source branch Not Found" });
        const open = project.mergeRequests.find((mr) => mr.state === "opened" && mr.source_branch === source && mr.target_branch === target);
        if (open) return answer(409, { message: [`Another open merge request already exists for this source branch: !${open.iid}`] });
        const mr: FakeMergeRequest = { iid: project.mergeRequests.length + 1, title: String(body["title"] ?? ""), description: String(body["description"] ?? ""), source_branch: source, target_branch: target, state: "opened", updates: 0 };
        project.mergeRequests.push(mr);
        state.mergeRequestsCreated += 1;
        return answer(201, mrJson(project, mr));
      });
      return true;
    }
    const mrPut = /^\/merge_requests\/(\d+)$/.exec(rest);
    if (method === "PUT" && mrPut) {
      void readJson(req).then((body) => {
        const mr = project.mergeRequests.find((m) => m.iid === Number(mrPut[1]));
        if (!mr) return answer(404, { message: "404 Not found" });
        if (typeof body["title"] === "string") mr.title = body["title"];
        if (typeof body["description"] === "string") mr.description = body["description"];
        mr.updates += 1;
        return answer(200, mrJson(project, mr));
      });
      return true;
    }
    return false;
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
    get mergeRequestsCreated() {
      return state.mergeRequestsCreated;
    },
    addProject(namespace, path, files, extra = {}) {
      const defaultBranch = extra.defaultBranch === undefined ? "main" : extra.defaultBranch;
      const branchFiles = new Map(Object.entries(files));
      const project: FakeGitLabProject = {
        id: nextId++,
        path,
        namespace,
        defaultBranch,
        archived: extra.archived ?? false,
        files: branchFiles,
        lastCommitId: commitId(),
        branches: new Map(defaultBranch === null ? [] : [[defaultBranch, branchFiles]]),
        mergeRequests: [],
        commits: 0,
      };
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

import { z } from "zod";
import type { DescriptorFile, FileError } from "../descriptors.ts";
import type { CatalogSource, SourceReadContext, SourceSnapshot, UnchangedFile } from "../source.ts";
import { ApiClient, ApiError, BodyTooLargeError, nextLink, retryAfterMs, type RateLimitSignal } from "./http.ts";
import { collectPages, type RemoteSourceDeps } from "./pages.ts";

export interface GitLabSourceOptions {
  id: string;
  /** REST API root: `https://gitlab.com/api/v4`, or `https://<host>/api/v4` for a self-managed instance. */
  apiUrl: string;
  /** Group id or full path (`platform/services`). */
  group: string;
  /** A token with read_api (or read_repository + read_api); sent only to `apiUrl`, as PRIVATE-TOKEN. */
  token: string | undefined;
  /** The secret's name, for the error when it is not set. */
  tokenSecret?: string;
  path?: string;
  includeSubgroups?: boolean;
  includeArchived?: boolean;
  maxFileBytes?: number;
  maxPages?: number;
  deps?: RemoteSourceDeps;
}

/** The fields of "List a group's projects" (simple=true) this source uses. */
const projectSchema = z.object({
  id: z.number(),
  path_with_namespace: z.string(),
  web_url: z.string(),
  default_branch: z.string().nullable().optional(),
});
type Project = z.infer<typeof projectSchema>;

/** GitLab's documented headers: Retry-After on a 429, RateLimit-Remaining/RateLimit-Reset otherwise. */
export function gitlabRateLimit(response: Response, now: number): RateLimitSignal {
  const signal: RateLimitSignal = {};
  const retry = retryAfterMs(response.headers, now);
  if (retry !== undefined) signal.retryAfterMs = retry;
  const remaining = response.headers.get("ratelimit-remaining");
  const reset = Number(response.headers.get("ratelimit-reset"));
  if (remaining === "0" && Number.isFinite(reset) && reset > 0) signal.blockedUntil = reset * 1000;
  return signal;
}

/**
 * `catalog-info.yaml` of every project of a GitLab group (and its subgroups), through the
 * REST API: "List a group's projects" (paged by the Link header), then per project a HEAD on
 * the repository files API, whose X-Gitlab-Blob-Id says whether the descriptor changed and
 * X-Gitlab-Size how large it is, and only then the raw file. An unchanged project costs one
 * HEAD and no download or parse.
 */
export function gitlabCatalogSource(options: GitLabSourceOptions): CatalogSource {
  const path = options.path ?? "catalog-info.yaml";
  const maxFileBytes = options.maxFileBytes ?? 1024 * 1024;
  const target = `${options.apiUrl.replace(/\/$/, "")}/groups/${options.group}`;
  return {
    id: options.id,
    target,
    async read(context: SourceReadContext): Promise<SourceSnapshot> {
      if (!options.token) throw new ApiError(`no GitLab token: set ${options.tokenSecret ? `the secret ${options.tokenSecret} (env var or secrets file)` : "the source's tokenSecret"} (a token with read_api on ${options.group})`);
      const client = new ApiClient({
        baseUrl: options.apiUrl,
        headers: { "private-token": options.token, accept: "application/json", "user-agent": "gatehouse-knowledge" },
        secrets: [options.token],
        rateLimit: gitlabRateLimit,
        ...options.deps,
      });
      const query = new URLSearchParams({ include_subgroups: String(options.includeSubgroups ?? true), simple: "true", order_by: "id", sort: "asc", per_page: "100" });
      if (!options.includeArchived) query.set("archived", "false");
      const projects = await collectPages(client, `groups/${encodeURIComponent(options.group)}/projects?${query.toString()}`, {
        what: `projects of ${options.group}`,
        maxPages: options.maxPages ?? 1000,
        next: (response) => nextLink(response.headers),
        items: (body) => z.array(projectSchema).parse(body),
      });
      const files: DescriptorFile[] = [];
      const errors: FileError[] = [];
      const unchanged: UnchangedFile[] = [];
      for (const project of projects) {
        // An empty repository has no default branch, and so no descriptor.
        if (!project.default_branch) continue;
        const location = `url:${project.web_url}/-/blob/${project.default_branch}/${path}`;
        const outcome = await readDescriptor(client, project, project.default_branch, path, maxFileBytes, context.versions.get(location));
        if (outcome.kind === "file") files.push({ location, text: outcome.text, version: outcome.version });
        else if (outcome.kind === "unchanged") unchanged.push({ location, version: outcome.version });
        else if (outcome.kind === "error") errors.push({ location, message: outcome.message });
      }
      return { files, errors, unchanged };
    },
  };
}

type Outcome = { kind: "file"; text: string; version: string } | { kind: "unchanged"; version: string } | { kind: "none" } | { kind: "error"; message: string };

async function readDescriptor(client: ApiClient, project: Project, branch: string, path: string, maxFileBytes: number, previousBlob: string | undefined): Promise<Outcome> {
  const fileUrl = `projects/${project.id}/repository/files/${encodeURIComponent(path)}`;
  const ref = `ref=${encodeURIComponent(branch)}`;
  try {
    const head = await client.request(`${fileUrl}?${ref}`, { method: "HEAD", maxBytes: 0 });
    if (head.status === 404) return { kind: "none" };
    // A token refused mid-run (revoked, expired) fails the source, not each project in turn.
    if (head.status === 401) throw client.failure(`${project.path_with_namespace}: checking ${path}`, head);
    if (head.status !== 200) return { kind: "error", message: client.failure(`${project.path_with_namespace}: checking ${path}`, head).message };
    const blobId = head.headers.get("x-gitlab-blob-id");
    if (blobId && blobId === previousBlob) return { kind: "unchanged", version: blobId };
    const size = Number(head.headers.get("x-gitlab-size"));
    if (Number.isFinite(size) && size > maxFileBytes) return { kind: "error", message: `${project.path_with_namespace}: ${path} is ${size} bytes, over the ${maxFileBytes}-byte limit` };
    const raw = await client.request(`${fileUrl}/raw?${ref}`, { maxBytes: maxFileBytes });
    if (raw.status !== 200) return { kind: "error", message: client.failure(`${project.path_with_namespace}: reading ${path}`, raw).message };
    // The raw answer's own blob id, when sent, is the one that matches the text read.
    const version = raw.headers.get("x-gitlab-blob-id") ?? blobId;
    return { kind: "file", text: raw.text, version: version ?? "" };
  } catch (err) {
    if (err instanceof BodyTooLargeError) return { kind: "error", message: err.message };
    if (err instanceof ApiError && err.status !== undefined && err.status !== 401) return { kind: "error", message: err.message };
    throw err;
  }
}

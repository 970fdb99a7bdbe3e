import { z } from "zod";
import type { DescriptorFile, FileError } from "../descriptors.ts";
import type { CatalogSource, SourceReadContext, SourceSnapshot, UnchangedFile } from "../source.ts";
import { ApiClient, ApiError, BodyTooLargeError, nextLink, retryAfterMs, type RateLimitSignal } from "./http.ts";
import { collectPages, type RemoteSourceDeps } from "./pages.ts";

export interface GitHubSourceOptions {
  id: string;
  /** REST API root: `https://api.github.com`, or `https://<host>/api/v3` for GitHub Enterprise Server. */
  apiUrl: string;
  org: string;
  /** A token that can read the org's repositories (contents: read); sent only to `apiUrl`. */
  token: string | undefined;
  /** The secret's name, for the error when it is not set. */
  tokenSecret?: string;
  /** Descriptor path in each repository; default `catalog-info.yaml`. */
  path?: string;
  includeArchived?: boolean;
  includeForks?: boolean;
  /** Larger descriptors are reported, not downloaded; default 1 MiB. */
  maxFileBytes?: number;
  /** Repository pages read at most (100 repositories each); default 1,000. */
  maxPages?: number;
  deps?: RemoteSourceDeps;
}

/** The fields of "List organization repositories" this source uses. */
const repoSchema = z.object({
  name: z.string(),
  full_name: z.string(),
  html_url: z.string(),
  default_branch: z.string().optional(),
  archived: z.boolean().optional(),
  fork: z.boolean().optional(),
  disabled: z.boolean().optional(),
  pushed_at: z.string().nullable().optional(),
});
type Repo = z.infer<typeof repoSchema>;

/** "Get repository content" for a file, object media type. */
const contentSchema = z.object({
  type: z.string(),
  size: z.number(),
  encoding: z.string().optional(),
  content: z.string().optional(),
  sha: z.string(),
});

/** What is remembered per descriptor: the push time it was read at, and the contents ETag. */
const versionSchema = z.object({ pushedAt: z.string().nullable(), etag: z.string().nullable() });
type Version = z.infer<typeof versionSchema>;

/** GitHub's documented headers: retry-after first, then an exhausted x-ratelimit window. */
export function githubRateLimit(response: Response, now: number): RateLimitSignal {
  const signal: RateLimitSignal = {};
  const retry = retryAfterMs(response.headers, now);
  if (retry !== undefined) signal.retryAfterMs = retry;
  const remaining = response.headers.get("x-ratelimit-remaining");
  const reset = Number(response.headers.get("x-ratelimit-reset"));
  if (remaining === "0" && Number.isFinite(reset) && reset > 0) signal.blockedUntil = reset * 1000;
  return signal;
}

/**
 * `catalog-info.yaml` of every repository of a GitHub organization, through the REST API:
 * "List organization repositories" (paged by the Link header), then "Get repository content"
 * per repository, one request at a time (GitHub asks integrations not to run concurrent
 * requests). An unchanged repository costs nothing: a repository whose `pushed_at` is the
 * one its descriptor was read at is not asked again, and otherwise the contents request
 * carries If-None-Match (a 304 does not count against the rate limit). Archived and forked
 * repositories are skipped unless asked for.
 */
export function githubCatalogSource(options: GitHubSourceOptions): CatalogSource {
  const path = options.path ?? "catalog-info.yaml";
  const maxFileBytes = options.maxFileBytes ?? 1024 * 1024;
  const target = `${options.apiUrl.replace(/\/$/, "")}/orgs/${options.org}`;
  return {
    id: options.id,
    target,
    async read(context: SourceReadContext): Promise<SourceSnapshot> {
      if (!options.token) throw new ApiError(`no GitHub token: set ${options.tokenSecret ? `the secret ${options.tokenSecret} (env var or secrets file)` : "the source's tokenSecret"} (a token with contents: read on ${options.org})`);
      const client = new ApiClient({
        baseUrl: options.apiUrl,
        headers: { authorization: `Bearer ${options.token}`, accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28", "user-agent": "gatehouse-knowledge" },
        secrets: [options.token],
        rateLimit: githubRateLimit,
        ...options.deps,
      });
      const repos = await collectPages(client, `orgs/${encodeURIComponent(options.org)}/repos?type=all&sort=full_name&per_page=100`, {
        what: `repositories of ${options.org}`,
        maxPages: options.maxPages ?? 1000,
        next: (response) => nextLink(response.headers),
        items: (body) => z.array(repoSchema).parse(body),
      });
      const files: DescriptorFile[] = [];
      const errors: FileError[] = [];
      const unchanged: UnchangedFile[] = [];
      for (const repo of repos) {
        if (!repo.default_branch || repo.disabled) continue;
        if (repo.archived && !options.includeArchived) continue;
        if (repo.fork && !options.includeForks) continue;
        const location = `url:${repo.html_url}/blob/${repo.default_branch}/${path}`;
        const outcome = await readDescriptor(client, repo, path, maxFileBytes, parseVersion(context.versions.get(location)));
        if (outcome.kind === "file") files.push({ location, text: outcome.text, version: outcome.version });
        else if (outcome.kind === "unchanged") unchanged.push({ location, version: outcome.version });
        else if (outcome.kind === "error") errors.push({ location, message: outcome.message });
      }
      return { files, errors, unchanged };
    },
  };
}

type Outcome = { kind: "file"; text: string; version: string } | { kind: "unchanged"; version: string } | { kind: "none" } | { kind: "error"; message: string };

async function readDescriptor(client: ApiClient, repo: Repo, path: string, maxFileBytes: number, previous: Version | undefined): Promise<Outcome> {
  const pushedAt = repo.pushed_at ?? null;
  // No push since the last clean read: the default branch, and so the descriptor, is the same.
  if (previous && pushedAt !== null && previous.pushedAt === pushedAt) return { kind: "unchanged", version: JSON.stringify(previous) };
  const url = `repos/${repo.full_name.split("/").map(encodeURIComponent).join("/")}/contents/${path.split("/").map(encodeURIComponent).join("/")}?ref=${encodeURIComponent(repo.default_branch ?? "")}`;
  try {
    // The object media type answers a 1–100 MB file with its size and no content, instead of an error.
    const response = await client.request(url, {
      headers: { accept: "application/vnd.github.object+json", ...(previous?.etag ? { "if-none-match": previous.etag } : {}) },
      // Base64 of the largest accepted file, plus the JSON around it.
      maxBytes: Math.ceil((maxFileBytes * 4) / 3) + 64 * 1024,
    });
    if (response.status === 304 && previous) return { kind: "unchanged", version: JSON.stringify({ pushedAt, etag: previous.etag }) };
    if (response.status === 404) return { kind: "none" };
    // A token refused mid-run (revoked, expired) fails the source, not each repository in turn.
    if (response.status === 401) throw client.failure(`${repo.full_name}: reading ${path}`, response);
    if (response.status !== 200) return { kind: "error", message: client.failure(`${repo.full_name}: reading ${path}`, response).message };
    const parsed = contentSchema.safeParse(parseJson(response.text));
    if (!parsed.success) return { kind: "error", message: `${repo.full_name}: ${path}: unexpected contents answer (${parsed.error.issues[0]?.message ?? "invalid"})` };
    const content = parsed.data;
    if (content.type !== "file") return { kind: "error", message: `${repo.full_name}: ${path} is a ${content.type}, not a file; symlinks and submodules are not followed` };
    if (content.size > maxFileBytes) return { kind: "error", message: `${repo.full_name}: ${path} is ${content.size} bytes, over the ${maxFileBytes}-byte limit` };
    if (content.encoding !== "base64" || content.content === undefined) return { kind: "error", message: `${repo.full_name}: ${path}: content not served inline (encoding ${content.encoding ?? "none"})` };
    const text = Buffer.from(content.content, "base64").toString("utf8");
    return { kind: "file", text, version: JSON.stringify({ pushedAt, etag: response.headers.get("etag") }) };
  } catch (err) {
    if (err instanceof BodyTooLargeError) return { kind: "error", message: err.message };
    if (err instanceof ApiError && err.status !== undefined && err.status !== 401) return { kind: "error", message: err.message };
    // Transport failures (timeout, connection refused, a refused redirect) fail the source: the API is not answering.
    throw err;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // Reported as the file's problem by the schema check that follows.
    return { invalidJson: err instanceof Error ? err.message : String(err) };
  }
}

function parseVersion(raw: string | undefined): Version | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed = versionSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    // A validator written by another version: read the file in full.
    return undefined;
  }
}

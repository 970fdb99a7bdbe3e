import { z } from "zod";
import { ApiClient, ApiError, nextLink, type ApiResponse } from "../knowledge/sources/http.ts";
import { githubRateLimit } from "../knowledge/sources/github.ts";
import { gitlabRateLimit } from "../knowledge/sources/gitlab.ts";
import { collectPages } from "../knowledge/sources/pages.ts";
import type { RepoAccess } from "./generate.ts";
import { isGeneratedDir, type RepoSnapshot } from "./repo.ts";
import { DETECTION_READS, DETECTION_READ_DEPTH } from "./review-check.ts";

/**
 * Repositories read through their host's REST API instead of a checkout: a GitHub org's
 * repositories or a GitLab group's projects, listed page by page, each snapshotted from its
 * default branch (the recursive tree, then the files detection reads). Job items name them
 * `github:<owner>/<repo>` and `gitlab:<group>/<project>`; their AGENTS.md goes out as a PR or MR.
 */
export const GITHUB_ITEM = "github:";
export const GITLAB_ITEM = "gitlab:";

export interface RemoteHost {
  /** `https://api.github.com` / `https://gitlab.com/api/v4`. */
  apiUrl: string;
  token: string;
  fetch?: typeof fetch;
}

/** A listing page (100 repositories) or a tree page is JSON well under this. */
const MAX_LISTING_BYTES = 16 * 1024 * 1024;
/** A manifest detection reads: larger is not a manifest anyone writes by hand. */
const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_PAGES = 1000;

function githubClient(host: RemoteHost): ApiClient {
  return new ApiClient({
    baseUrl: host.apiUrl,
    headers: { authorization: `Bearer ${host.token}`, accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28", "user-agent": "gatehouse-agents-md" },
    secrets: [host.token],
    rateLimit: githubRateLimit,
    ...(host.fetch ? { fetch: host.fetch } : {}),
  });
}

function gitlabClient(host: RemoteHost): ApiClient {
  return new ApiClient({
    baseUrl: host.apiUrl,
    headers: { "private-token": host.token, accept: "application/json", "user-agent": "gatehouse-agents-md" },
    secrets: [host.token],
    rateLimit: gitlabRateLimit,
    ...(host.fetch ? { fetch: host.fetch } : {}),
  });
}

/** GitLab's offset pagination: `x-next-page` (documented for every list), else the Link header. */
function gitlabNext(response: ApiResponse): string | undefined {
  const next = response.headers.get("x-next-page");
  if (next && /^\d+$/.test(next)) {
    const url = new URL(response.url);
    url.searchParams.set("page", next);
    return url.toString();
  }
  return nextLink(response.headers);
}

const githubRepoSchema = z.object({ full_name: z.string(), default_branch: z.string().optional(), archived: z.boolean().optional(), fork: z.boolean().optional(), disabled: z.boolean().optional() });
const gitlabProjectSchema = z.object({ id: z.number(), path_with_namespace: z.string(), default_branch: z.string().nullable().optional(), archived: z.boolean().optional() });

/** Every repository of a GitHub org (Link-paged, 100 a page) as job items; archived, disabled, empty and forked ones left out. */
export async function listGitHubOrg(host: RemoteHost, org: string, options: { includeArchived?: boolean; includeForks?: boolean } = {}): Promise<string[]> {
  const repos = await collectPages(githubClient(host), `orgs/${encodeURIComponent(org)}/repos?type=all&sort=full_name&per_page=100`, {
    what: `repositories of ${org}`,
    maxPages: MAX_PAGES,
    next: (response) => nextLink(response.headers),
    items: (body) => z.array(githubRepoSchema).parse(body),
  });
  return repos.filter((r) => r.default_branch && !r.disabled && (options.includeArchived || !r.archived) && (options.includeForks || !r.fork)).map((r) => `${GITHUB_ITEM}${r.full_name}`);
}

/** Every project of a GitLab group and its subgroups (paged by `x-next-page`) as job items; archived and empty ones left out. */
export async function listGitLabGroup(host: RemoteHost, group: string): Promise<string[]> {
  const query = new URLSearchParams({ include_subgroups: "true", archived: "false", simple: "true", order_by: "id", sort: "asc", per_page: "100" });
  const projects = await collectPages(gitlabClient(host), `groups/${encodeURIComponent(group)}/projects?${query.toString()}`, {
    what: `projects of ${group}`,
    maxPages: MAX_PAGES,
    next: gitlabNext,
    items: (body) => z.array(gitlabProjectSchema).parse(body),
  });
  return projects.filter((p) => p.default_branch && !p.archived).map((p) => `${GITLAB_ITEM}${p.path_with_namespace}`);
}

/** Files and directories as readCheckout lists them: generated dirs listed, not entered. */
function listing(entries: readonly { path: string; type: string }[]): { files: string[]; dirs: string[]; reads: string[] } {
  const files: string[] = [];
  const dirs: string[] = [];
  for (const entry of entries) {
    const parts = entry.path.split("/");
    if (parts.slice(0, -1).some(isGeneratedDir) || parts.includes(".git")) continue;
    if (entry.type === "tree") dirs.push(entry.path);
    else if (entry.type === "blob") files.push(entry.path);
  }
  files.sort();
  dirs.sort();
  const reads = files.filter((f) => f.split("/").length <= DETECTION_READ_DEPTH && DETECTION_READS.has(f.split("/").at(-1) ?? ""));
  return { files, dirs, reads };
}

function snapshotOf(files: string[], dirs: string[], texts: Map<string, string>): RepoSnapshot {
  return { files, dirs, read: (path) => texts.get(path) };
}

function itemPath(item: string, prefix: string): string {
  if (!item.startsWith(prefix)) throw new Error(`${item}: not a ${prefix} item`);
  return item.slice(prefix.length);
}

const treeSchema = z.object({ truncated: z.boolean().optional(), tree: z.array(z.object({ path: z.string(), type: z.string() })) });
const contentSchema = z.object({ type: z.string(), encoding: z.string().optional(), content: z.string().optional() });

function decodeBase64(data: string): string {
  const binary = atob(data.replace(/\s/g, ""));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

function json(response: ApiResponse, what: string, client: ApiClient): unknown {
  try {
    return JSON.parse(response.text);
  } catch (err) {
    throw client.error(`${what}: the answer is not JSON (${err instanceof Error ? err.message : String(err)})`, response.status);
  }
}

/** GitHub repositories (`github:<owner>/<repo>`): the default branch's recursive tree, then each manifest through the contents API. */
export function githubRepoAccess(host: RemoteHost): RepoAccess {
  const client = githubClient(host);
  return {
    async snapshot(item) {
      const fullName = itemPath(item, GITHUB_ITEM);
      const repoPath = fullName.split("/").map(encodeURIComponent).join("/");
      const repo = await client.request(`repos/${repoPath}`, { maxBytes: MAX_LISTING_BYTES });
      if (repo.status !== 200) throw client.failure(`${fullName}: reading the repository`, repo);
      const branch = z.object({ default_branch: z.string() }).parse(json(repo, fullName, client)).default_branch;
      const treeResponse = await client.request(`repos/${repoPath}/git/trees/${encodeURIComponent(branch)}?recursive=1`, { maxBytes: MAX_LISTING_BYTES });
      if (treeResponse.status !== 200) throw client.failure(`${fullName}: listing ${branch}`, treeResponse);
      const tree = treeSchema.parse(json(treeResponse, fullName, client));
      // A partial listing would give a wrong file (commands and paths missing): refused.
      if (tree.truncated) throw new ApiError(`${fullName}: the tree of ${branch} is too large for one API listing (truncated); generate its AGENTS.md from a checkout`);
      const { files, dirs, reads } = listing(tree.tree);
      const texts = new Map<string, string>();
      for (const path of reads) {
        const response = await client.request(`repos/${repoPath}/contents/${path.split("/").map(encodeURIComponent).join("/")}?ref=${encodeURIComponent(branch)}`, { maxBytes: MAX_MANIFEST_BYTES * 2 });
        if (response.status !== 200) throw client.failure(`${fullName}: reading ${path}`, response);
        const content = contentSchema.parse(json(response, `${fullName}: ${path}`, client));
        if (content.type !== "file" || content.encoding !== "base64" || content.content === undefined) throw new ApiError(`${fullName}: ${path} is not served inline (${content.type}, ${content.encoding ?? "no encoding"})`);
        texts.set(path, decodeBase64(content.content));
      }
      return snapshotOf(files, dirs, texts);
    },
    writeAgentsMd: async (item) => {
      throw new Error(`${item}: a remote repository gets its AGENTS.md as a pull request, not a file write`);
    },
    name: (item) => itemPath(item, GITHUB_ITEM).split("/").pop() ?? item,
  };
}

/** GitLab projects (`gitlab:<group>/<project>`): the default branch's recursive tree (paged), then each manifest raw. */
export function gitlabRepoAccess(host: RemoteHost): RepoAccess {
  const client = gitlabClient(host);
  return {
    async snapshot(item) {
      const project = encodeURIComponent(itemPath(item, GITLAB_ITEM));
      const about = await client.request(`projects/${project}`, { maxBytes: MAX_LISTING_BYTES });
      if (about.status !== 200) throw client.failure(`${item}: reading the project`, about);
      const branch = z.object({ default_branch: z.string().nullable() }).parse(json(about, item, client)).default_branch;
      if (!branch) throw new ApiError(`${item}: the project is empty (no default branch)`);
      const entries = await collectPages(client, `projects/${project}/repository/tree?${new URLSearchParams({ recursive: "true", ref: branch, per_page: "100" }).toString()}`, {
        what: `the tree of ${item}`,
        maxPages: MAX_PAGES,
        next: gitlabNext,
        items: (body) => z.array(z.object({ path: z.string(), type: z.string() })).parse(body),
      });
      const { files, dirs, reads } = listing(entries);
      const texts = new Map<string, string>();
      for (const path of reads) {
        const response = await client.request(`projects/${project}/repository/files/${encodeURIComponent(path)}/raw?ref=${encodeURIComponent(branch)}`, { maxBytes: MAX_MANIFEST_BYTES });
        if (response.status !== 200) throw client.failure(`${item}: reading ${path}`, response);
        texts.set(path, response.text);
      }
      return snapshotOf(files, dirs, texts);
    },
    writeAgentsMd: async (item) => {
      throw new Error(`${item}: a remote project gets its AGENTS.md as a merge request, not a file write`);
    },
    name: (item) => itemPath(item, GITLAB_ITEM).split("/").pop() ?? item,
  };
}

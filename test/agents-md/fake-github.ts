import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/** One repository of the fake: branches (name → commit sha), files per branch, pull requests. */
export interface FakeRepo {
  defaultBranch: string;
  branches: Map<string, string>;
  files: Map<string, Map<string, { sha: string; text: string }>>;
  pulls: { number: number; head: string; base: string; title: string; state: "open" | "closed" }[];
  commits: number;
}

/**
 * A GitHub REST API fake speaking the documented wire format for the calls the AGENTS.md PR
 * flow makes (repos, git refs, contents, pulls): JSON bodies, `{ message, documentation_url }`
 * errors, 404 for a missing ref or file, 422 for an existing ref or an open PR with that head.
 */
export class FakeGitHub {
  readonly repos = new Map<string, FakeRepo>();
  readonly requests: string[] = [];
  pullsCreated = 0;
  private server: Server | undefined;
  private nextPull = 1;
  constructor(private readonly token: string) {}

  /** A repository whose default branch `main` holds `files` (path → text). */
  addRepo(fullName: string, files: Record<string, string> = {}): void {
    const sha = createHash("sha1").update(fullName).digest("hex");
    const main = new Map(Object.entries(files).map(([path, text]) => [path, { sha: createHash("sha1").update(`blob ${text}`).digest("hex"), text }]));
    this.repos.set(fullName, { defaultBranch: "main", branches: new Map([["main", sha]]), files: new Map([["main", main]]), pulls: [], commits: 0 });
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify(body));
    };
    const fail = (status: number, message: string, extra: Record<string, unknown> = {}): void => send(status, { message, documentation_url: "https://docs.github.com/rest", ...extra });
    const auth = req.headers.authorization ?? "";
    if (auth !== `Bearer ${this.token}` && auth !== `token ${this.token}`) return fail(401, "Bad credentials");
    const url = new URL(req.url ?? "/", "http://x");
    this.requests.push(`${req.method} ${url.pathname}`);
    const org = /^\/orgs\/([^/]+)\/repos$/.exec(url.pathname);
    if (req.method === "GET" && org) {
      // List organization repositories: per_page (max 100), page, and an RFC 8288 Link header.
      const login = decodeURIComponent(org[1] ?? "");
      const all = [...this.repos.keys()].filter((name) => name.startsWith(`${login}/`)).sort();
      if (all.length === 0) return fail(404, "Not Found");
      const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 30) || 30, 100);
      const page = Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1);
      const last = Math.max(1, Math.ceil(all.length / perPage));
      const host = `http://${req.headers.host ?? "127.0.0.1"}`;
      const link = (p: number, rel: string): string => {
        const query = new URLSearchParams(url.searchParams);
        query.set("page", String(p));
        return `<${host}${url.pathname}?${query.toString()}>; rel="${rel}"`;
      };
      const links = [...(page > 1 ? [link(page - 1, "prev")] : []), ...(page < last ? [link(page + 1, "next")] : []), link(1, "first"), link(last, "last")];
      const items = all.slice((page - 1) * perPage, page * perPage).map((fullName) => {
        const r = this.repos.get(fullName);
        return { name: fullName.split("/")[1], full_name: fullName, private: true, html_url: `https://github.example/${fullName}`, fork: false, archived: false, disabled: false, default_branch: r?.defaultBranch, pushed_at: "2026-01-01T00:00:00Z" };
      });
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", link: links.join(", ") });
      res.end(JSON.stringify(items));
      return;
    }
    const match = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url.pathname);
    const repo = match ? this.repos.get(`${decodeURIComponent(match[1] ?? "")}/${decodeURIComponent(match[2] ?? "")}`) : undefined;
    if (!match || !repo) return fail(404, "Not Found");
    const owner = decodeURIComponent(match[1] ?? "");
    const rest = match[3] ?? "";
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, string>) : {};
    if (req.method === "GET" && rest === "") return send(200, { full_name: `${owner}/${match[2]}`, default_branch: repo.defaultBranch });
    const tree = /^\/git\/trees\/(.+)$/.exec(rest);
    if (req.method === "GET" && tree) {
      // Get a tree, recursive=1: every blob and the trees above it, `truncated: false`.
      const files = repo.files.get(decodeURIComponent(tree[1] ?? ""));
      if (!files) return fail(404, "Not Found");
      const entries = new Map<string, { type: string; sha: string; size?: number }>();
      for (const [path, file] of files) {
        const parts = path.split("/");
        for (let i = 1; i < parts.length; i++) entries.set(parts.slice(0, i).join("/"), { type: "tree", sha: createHash("sha1").update(parts.slice(0, i).join("/")).digest("hex") });
        entries.set(path, { type: "blob", sha: file.sha, size: Buffer.byteLength(file.text) });
      }
      const list = [...entries].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, e]) => ({ path, mode: e.type === "tree" ? "040000" : "100644", ...e }));
      return send(200, { sha: repo.branches.get(decodeURIComponent(tree[1] ?? "")) ?? "", truncated: false, tree: list });
    }
    const ref = /^\/git\/ref\/heads\/(.+)$/.exec(rest);
    if (req.method === "GET" && ref) {
      const name = decodeURIComponent(ref[1] ?? "");
      const sha = repo.branches.get(name);
      return sha ? send(200, { ref: `refs/heads/${name}`, object: { sha, type: "commit" } }) : fail(404, "Not Found");
    }
    if (req.method === "POST" && rest === "/git/refs") {
      const name = (body["ref"] ?? "").replace(/^refs\/heads\//, "");
      if (repo.branches.has(name)) return fail(422, "Reference already exists");
      const from = [...repo.branches].find(([, sha]) => sha === body["sha"]);
      if (!from) return fail(422, "Object does not exist");
      repo.branches.set(name, body["sha"] ?? "");
      repo.files.set(name, new Map(repo.files.get(from[0])));
      return send(201, { ref: `refs/heads/${name}`, object: { sha: body["sha"], type: "commit" } });
    }
    const contents = /^\/contents\/(.+)$/.exec(rest);
    if (contents) {
      const path = decodeURIComponent(contents[1] ?? "");
      const branch = req.method === "GET" ? (url.searchParams.get("ref") ?? repo.defaultBranch) : (body["branch"] ?? repo.defaultBranch);
      const files = repo.files.get(branch);
      if (!files) return fail(404, `No commit found for the ref ${branch}`);
      const file = files.get(path);
      if (req.method === "GET") return file ? send(200, { type: "file", path, sha: file.sha, encoding: "base64", content: Buffer.from(file.text).toString("base64") }) : fail(404, "Not Found");
      if (req.method === "PUT") {
        if (file && body["sha"] !== file.sha) return fail(422, `Invalid request.\n\n"sha" wasn't supplied.`);
        const text = Buffer.from(body["content"] ?? "", "base64").toString("utf8");
        const sha = createHash("sha1").update(`blob ${text}`).digest("hex");
        files.set(path, { sha, text });
        repo.commits++;
        repo.branches.set(branch, createHash("sha1").update(`${branch}${repo.commits}`).digest("hex"));
        return send(file ? 200 : 201, { content: { path, sha }, commit: { sha: repo.branches.get(branch) } });
      }
    }
    if (rest === "/pulls" && req.method === "GET") {
      const head = url.searchParams.get("head");
      const state = url.searchParams.get("state") ?? "open";
      const list = repo.pulls.filter((p) => (state === "all" || p.state === state) && (!head || `${owner}:${p.head}` === head));
      return send(
        200,
        list.map((p) => ({ number: p.number, state: p.state, title: p.title, html_url: `https://github.example/${owner}/${match[2]}/pull/${p.number}`, head: { ref: p.head }, base: { ref: p.base } })),
      );
    }
    if (rest === "/pulls" && req.method === "POST") {
      const head = body["head"] ?? "";
      if (repo.pulls.some((p) => p.state === "open" && p.head === head)) return fail(422, "Validation Failed", { errors: [{ resource: "PullRequest", code: "custom", message: `A pull request already exists for ${owner}:${head}.` }] });
      if (!repo.branches.has(head)) return fail(422, "Validation Failed", { errors: [{ resource: "PullRequest", field: "head", code: "invalid" }] });
      const pull = { number: this.nextPull++, head, base: body["base"] ?? repo.defaultBranch, title: body["title"] ?? "", state: "open" as const };
      repo.pulls.push(pull);
      this.pullsCreated++;
      return send(201, { number: pull.number, state: "open", html_url: `https://github.example/${owner}/${match[2]}/pull/${pull.number}` });
    }
    return fail(404, "Not Found");
  }
}

// Test support: the slice of GitHub's REST API the reviewer uses, with its documented shapes.
import { Hono } from "hono";
import type { Context } from "hono";
import { isRecord, str } from "../../src/review/model/json.ts";

export interface GitHubComment {
  id: number;
  pull_request_review_id: number | null;
  in_reply_to_id?: number;
  path: string;
  line: number | null;
  side: "RIGHT" | "LEFT";
  body: string;
  commit_id: string;
  user: { login: string; type: "User" | "Bot" };
  created_at: string;
}

export interface GitHubIssueComment {
  id: number;
  body: string;
  user: { login: string; type: "User" | "Bot" };
  created_at: string;
}

export interface GitHubReview {
  id: number;
  body: string;
  state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED";
  commit_id: string;
  event: string;
}

export interface FakeGitHubOptions {
  token: string;
  repository: string;
  pullNumber: number;
  /** Lines of the PR diff a comment may sit on, per path (GitHub rejects others with 422). */
  commentable: Record<string, number[]>;
  /** Simulate the repository setting that forbids GITHUB_TOKEN to approve. */
  forbidApprove?: boolean;
  pageSize?: number;
}

const docs = "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request";
const bot = { login: "github-actions[bot]", type: "Bot" as const };

export class FakeGitHub {
  readonly app = new Hono();
  readonly reviews: GitHubReview[] = [];
  readonly comments: GitHubComment[] = [];
  readonly issueComments: GitHubIssueComment[] = [];
  /** Top-level review comment ids whose thread is resolved (GraphQL `isResolved`). */
  readonly resolvedThreads = new Set<number>();
  private nextId = 1000;

  constructor(private readonly options: FakeGitHubOptions) {
    const base = `/repos/${options.repository}`;
    this.app.use("*", async (c, next) => {
      if (c.req.header("authorization") !== `Bearer ${options.token}`) return c.json({ message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" }, 401);
      await next();
      return undefined;
    });
    this.app.get(`${base}/pulls/:n/comments`, (c) => this.page(c, this.comments));
    this.app.get(`${base}/issues/:n/comments`, (c) => this.page(c, this.issueComments));
    this.app.post(`${base}/pulls/:n/reviews`, (c) => this.createReview(c));
    this.app.post(`${base}/issues/:n/comments`, async (c) => {
      const body: unknown = await c.req.json();
      const text = isRecord(body) ? str(body["body"]) : undefined;
      if (!text) return this.unprocessable(c, "body is missing");
      const comment: GitHubIssueComment = { id: this.nextId++, body: text, user: bot, created_at: new Date().toISOString() };
      this.issueComments.push(comment);
      return c.json({ ...comment, html_url: `https://github.com/${options.repository}/pull/${c.req.param("n")}#issuecomment-${comment.id}` }, 201);
    });
    this.app.post("/graphql", (c) => this.graphql(c));
    this.app.post(`${base}/pulls/:n/comments/:id/replies`, async (c) => {
      const parent = this.comments.find((x) => x.id === Number(c.req.param("id")));
      if (!parent) return c.json({ message: "Not Found", documentation_url: "https://docs.github.com/rest/pulls/comments#create-a-reply-for-a-review-comment", status: "404" }, 404);
      const body: unknown = await c.req.json();
      const text = isRecord(body) ? str(body["body"]) : undefined;
      if (!text) return this.unprocessable(c, "body is missing");
      const reply: GitHubComment = { ...parent, id: this.nextId++, in_reply_to_id: parent.id, body: text, user: bot, created_at: new Date().toISOString() };
      this.comments.push(reply);
      return c.json(reply, 201);
    });
  }

  /** A human writes on the PR conversation. */
  addIssueComment(login: string, body: string): void {
    this.issueComments.push({ id: this.nextId++, body, user: { login, type: "User" }, created_at: "2026-01-02T10:00:00Z" });
  }

  /** A human replies in a review thread. */
  reply(parentId: number, login: string, body: string): void {
    const parent = this.comments.find((x) => x.id === parentId);
    if (!parent) throw new Error(`no comment ${parentId}`);
    this.comments.push({ ...parent, id: this.nextId++, in_reply_to_id: parentId, body, user: { login, type: "User" }, created_at: "2026-01-02T10:00:00Z" });
  }

  /** A human clicks "Resolve conversation" on the thread a comment starts. */
  resolveThread(commentId: number): void {
    this.resolvedThreads.add(commentId);
  }

  private async graphql(c: Context): Promise<Response> {
    const body: unknown = await c.req.json();
    const query = isRecord(body) ? (str(body["query"]) ?? "") : "";
    const variables = isRecord(body) && isRecord(body["variables"]) ? body["variables"] : {};
    if (query.includes("reviewThreads")) {
      if (variables["number"] !== this.options.pullNumber)
        return c.json({ data: { repository: { pullRequest: null } }, errors: [{ type: "NOT_FOUND", path: ["repository", "pullRequest"], message: `Could not resolve to a PullRequest with the number of ${String(variables["number"])}.` }] });
      const nodes = this.comments.filter((x) => x.in_reply_to_id === undefined).map((x) => ({ id: `PRRT_${x.id}`, isResolved: this.resolvedThreads.has(x.id), comments: { nodes: [{ databaseId: x.id }] } }));
      return c.json({ data: { repository: { pullRequest: { reviewThreads: { nodes } } } } });
    }
    if (query.includes("resolveReviewThread")) {
      const id = Number(String(variables["threadId"]).replace("PRRT_", ""));
      if (!this.comments.some((x) => x.id === id))
        return c.json({ data: { resolveReviewThread: null }, errors: [{ type: "NOT_FOUND", path: ["resolveReviewThread"], message: `Could not resolve to a node with the global id of '${String(variables["threadId"])}'` }] });
      this.resolvedThreads.add(id);
      return c.json({ data: { resolveReviewThread: { thread: { id: `PRRT_${id}`, isResolved: true } } } });
    }
    return c.json({ errors: [{ message: "Field not supported by the fake" }] });
  }

  private page(c: Context, items: readonly unknown[]): Response {
    const perPage = Math.min(Number(c.req.query("per_page") ?? 30), this.options.pageSize ?? 100);
    const page = Number(c.req.query("page") ?? 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    if (page * perPage < items.length) {
      const url = new URL(c.req.url);
      url.searchParams.set("page", String(page + 1));
      c.header("link", `<${url.toString()}>; rel="next"`);
    }
    return c.json(slice);
  }

  private unprocessable(c: Context, error: string): Response {
    return c.json({ message: "Unprocessable Entity", errors: [error], documentation_url: docs, status: "422" }, 422);
  }

  private async createReview(c: Context): Promise<Response> {
    const body: unknown = await c.req.json();
    if (!isRecord(body)) return c.json({ message: "Problems parsing JSON", documentation_url: docs, status: "400" }, 400);
    const event = str(body["event"]);
    if (event !== "APPROVE" && event !== "REQUEST_CHANGES" && event !== "COMMENT") return this.unprocessable(c, `event ${String(event)} is not one of APPROVE, REQUEST_CHANGES, COMMENT`);
    if (event === "APPROVE" && this.options.forbidApprove) return this.unprocessable(c, "GitHub Actions is not permitted to approve pull requests.");
    if (event !== "APPROVE" && !str(body["body"])) return this.unprocessable(c, "Body is required for REQUEST_CHANGES and COMMENT reviews");
    const comments = Array.isArray(body["comments"]) ? body["comments"] : [];
    for (const comment of comments) {
      if (!isRecord(comment) || typeof comment["path"] !== "string" || typeof comment["line"] !== "number" || typeof comment["body"] !== "string") return this.unprocessable(c, "comments need path, line and body");
      if (comment["side"] !== undefined && comment["side"] !== "RIGHT" && comment["side"] !== "LEFT") return this.unprocessable(c, "side must be RIGHT or LEFT");
      if (!(this.options.commentable[comment["path"]] ?? []).includes(comment["line"])) return this.unprocessable(c, "Pull request review thread line must be part of the diff");
    }
    const id = this.nextId++;
    const state = event === "APPROVE" ? "APPROVED" : event === "REQUEST_CHANGES" ? "CHANGES_REQUESTED" : "COMMENTED";
    const commitId = str(body["commit_id"]) ?? "";
    this.reviews.push({ id, body: str(body["body"]) ?? "", state, commit_id: commitId, event });
    for (const comment of comments) {
      if (!isRecord(comment)) continue;
      this.comments.push({ id: this.nextId++, pull_request_review_id: id, path: String(comment["path"]), line: Number(comment["line"]), side: "RIGHT", body: String(comment["body"]), commit_id: commitId, user: bot, created_at: "2026-01-01T12:00:00Z" });
    }
    return c.json({
      id,
      node_id: `PRR_${id}`,
      user: bot,
      body: str(body["body"]) ?? "",
      state,
      html_url: `https://github.com/${this.options.repository}/pull/${this.options.pullNumber}#pullrequestreview-${id}`,
      pull_request_url: `https://api.github.com/repos/${this.options.repository}/pulls/${this.options.pullNumber}`,
      author_association: "NONE",
      submitted_at: "2026-01-01T12:00:00Z",
      commit_id: commitId,
    });
  }
}

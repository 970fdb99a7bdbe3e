// Test support: the slice of GitLab's REST API v4 the reviewer uses, with its documented shapes.
import { Hono } from "hono";
import type { Context } from "hono";
import { isRecord, str } from "../../src/review/model/json.ts";

export interface GitLabNote {
  id: number;
  type: "DiffNote" | "DiscussionNote" | null;
  body: string;
  author: { id: number; username: string; name: string };
  created_at: string;
  system: boolean;
  noteable_type: "MergeRequest";
  resolvable: boolean;
  resolved?: boolean;
  resolved_by?: { username: string } | null;
  position?: Record<string, unknown>;
}

export interface GitLabDiscussion {
  id: string;
  individual_note: boolean;
  notes: GitLabNote[];
}

export interface FakeGitLabOptions {
  token: string;
  projectId: string;
  iid: number;
  diffRefs: { base_sha: string; start_sha: string; head_sha: string };
  commentable: Record<string, number[]>;
  forbidApprove?: boolean;
}

const botUser = { id: 99, username: "gatehouse-bot", name: "Gatehouse" };

export class FakeGitLab {
  readonly app = new Hono();
  readonly discussions: GitLabDiscussion[] = [];
  readonly notes: GitLabNote[] = [];
  approvedBy: string[] = [];
  private nextId = 5000;

  constructor(private readonly options: FakeGitLabOptions) {
    const mr = `/api/v4/projects/:project/merge_requests/:iid`;
    this.app.use("*", async (c, next) => {
      if (c.req.header("private-token") !== options.token) return c.json({ message: "401 Unauthorized" }, 401);
      if (c.req.param("project") !== undefined && c.req.param("project") !== options.projectId) return c.json({ message: "404 Project Not Found" }, 404);
      await next();
      return undefined;
    });
    this.app.get(mr, (c) => c.json({ id: 1, iid: options.iid, project_id: 7, title: "Change", state: "opened", sha: options.diffRefs.head_sha, diff_refs: options.diffRefs, web_url: `https://gitlab.example.com/g/p/-/merge_requests/${options.iid}` }));
    this.app.get(`${mr}/discussions`, (c) => {
      const perPage = Number(c.req.query("per_page") ?? 20);
      const page = Number(c.req.query("page") ?? 1);
      if (page * perPage < this.discussions.length) c.header("x-next-page", String(page + 1));
      c.header("x-total", String(this.discussions.length));
      return c.json(this.discussions.slice((page - 1) * perPage, page * perPage));
    });
    this.app.post(`${mr}/discussions`, (c) => this.createDiscussion(c));
    this.app.post(`${mr}/notes`, async (c) => {
      const body: unknown = await c.req.json();
      const text = isRecord(body) ? str(body["body"]) : undefined;
      if (!text) return c.json({ message: "400 Bad request - body is missing" }, 400);
      const note = this.note(text, null, botUser, false);
      this.notes.push(note);
      this.discussions.push({ id: this.hex(), individual_note: true, notes: [note] });
      return c.json(note, 201);
    });
    this.app.post(`${mr}/discussions/:did/notes`, async (c) => {
      const discussion = this.discussions.find((d) => d.id === c.req.param("did"));
      if (!discussion) return c.json({ message: "404 Discussion Not Found" }, 404);
      const body: unknown = await c.req.json();
      const note = this.note(isRecord(body) ? (str(body["body"]) ?? "") : "", "DiscussionNote", botUser, true);
      discussion.notes.push(note);
      return c.json(note, 201);
    });
    this.app.put(`${mr}/discussions/:did`, (c) => {
      const discussion = this.discussions.find((d) => d.id === c.req.param("did"));
      if (!discussion) return c.json({ message: "404 Discussion Not Found" }, 404);
      const resolved = c.req.query("resolved") === "true";
      for (const n of discussion.notes) if (n.resolvable) Object.assign(n, { resolved, resolved_by: resolved ? { username: botUser.username } : null });
      return c.json(discussion);
    });
    this.app.post(`${mr}/approve`, (c) => {
      if (options.forbidApprove) return c.json({ message: "401 Unauthorized" }, 401);
      this.approvedBy.push(botUser.username);
      return c.json({ id: 1, iid: options.iid, approved: true, approved_by: [{ user: botUser }] }, 201);
    });
    // GitLab answers 404 when the current user has not approved the merge request.
    this.app.post(`${mr}/unapprove`, (c) => {
      if (!this.approvedBy.includes(botUser.username)) return c.json({ message: "404 Not Found" }, 404);
      this.approvedBy = this.approvedBy.filter((u) => u !== botUser.username);
      return c.json({ id: 1, iid: options.iid, approved: false, approved_by: [] }, 201);
    });
  }

  /** A new push moves the merge request's diff refs. */
  setDiffRefs(refs: FakeGitLabOptions["diffRefs"]): void {
    this.options.diffRefs = refs;
  }

  /** A human comments on the merge request or replies in a thread. */
  humanNote(body: string, username = "alice", discussionId?: string): void {
    const note = this.note(body, discussionId ? "DiscussionNote" : null, { id: 3, username, name: username }, discussionId !== undefined);
    const discussion = discussionId ? this.discussions.find((d) => d.id === discussionId) : undefined;
    if (discussion) discussion.notes.push(note);
    else this.discussions.push({ id: this.hex(), individual_note: true, notes: [note] });
  }

  resolve(discussionId: string, username = "alice"): void {
    const discussion = this.discussions.find((d) => d.id === discussionId);
    for (const n of discussion?.notes ?? []) if (n.resolvable) Object.assign(n, { resolved: true, resolved_by: { username } });
  }

  private hex(): string {
    return (this.nextId++).toString(16).padStart(40, "a");
  }

  private note(body: string, type: GitLabNote["type"], author: GitLabNote["author"], resolvable: boolean): GitLabNote {
    return { id: this.nextId++, type, body, author, created_at: "2026-01-02T10:00:00Z", system: false, noteable_type: "MergeRequest", resolvable, ...(resolvable ? { resolved: false, resolved_by: null } : {}) };
  }

  private async createDiscussion(c: Context): Promise<Response> {
    const body: unknown = await c.req.json();
    if (!isRecord(body) || !str(body["body"])) return c.json({ message: "400 Bad request - body is missing" }, 400);
    const position = body["position"];
    if (!isRecord(position)) return c.json({ message: "400 Bad request - position is missing" }, 400);
    const refs = this.options.diffRefs;
    if (position["position_type"] !== "text" || position["base_sha"] !== refs.base_sha || position["start_sha"] !== refs.start_sha || position["head_sha"] !== refs.head_sha) {
      return c.json({ message: '400 Bad request - Note {:line_code=>["can\'t be blank", "must be a valid line code"]}' }, 400);
    }
    const path = str(position["new_path"]) ?? "";
    if (!(this.options.commentable[path] ?? []).includes(Number(position["new_line"]))) {
      return c.json({ message: '400 Bad request - Note {:line_code=>["can\'t be blank", "must be a valid line code"]}' }, 400);
    }
    const note = { ...this.note(String(body["body"]), "DiffNote", botUser, true), position: { ...position, old_line: null } };
    const discussion: GitLabDiscussion = { id: this.hex(), individual_note: false, notes: [note] };
    this.discussions.push(discussion);
    return c.json(discussion, 201);
  }
}

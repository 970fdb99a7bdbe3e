import { isRecord, num, str } from "../model/json.ts";
import { findingFromMarker, isGatehouseComment, readFindingMarker, resolvedMarker } from "../markers.ts";
import { inlineCommentBody } from "../render/markdown.ts";
import { breakGlassPattern, wontFixPattern, type BreakGlass, type PriorFinding, type PriorState } from "../rereview.ts";
import type { ReviewResult } from "../result.ts";
import { ApiClient } from "./http.ts";
import { PlatformError, type PublishOutcome, type ReviewPlatform } from "./types.ts";

export interface GitHubOptions {
  apiUrl: string;
  token: string;
  /** owner/name */
  repository: string;
  pullNumber: number;
  fetch?: typeof fetch | undefined;
}

const events = { approved: "APPROVE", approved_with_comments: "COMMENT", requested_changes: "REQUEST_CHANGES" } as const;

function login(comment: Record<string, unknown>): string {
  return isRecord(comment["user"]) ? (str(comment["user"]["login"]) ?? "unknown") : "unknown";
}

const threadsQuery = `query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) { pullRequest(number: $number) {
    reviewThreads(first: 100) { nodes { id isResolved comments(first: 1) { nodes { databaseId } } } }
  } }
}`;
const resolveMutation = `mutation($threadId: ID!) { resolveReviewThread(input: { threadId: $threadId }) { thread { id isResolved } } }`;

interface ThreadState {
  threadId: string;
  isResolved: boolean;
}

/**
 * GitHub pull request reviews over REST. Review-thread resolution exists only in GraphQL, so
 * threads are read (and fixed ones resolved) there; if GraphQL is unavailable, replies still
 * settle a finding ("won't fix", "acknowledged", "resolved") and fixed ones get a reply.
 */
export class GitHubPlatform implements ReviewPlatform {
  readonly name = "github";
  private readonly api: ApiClient;
  private readonly repoPath: string;

  constructor(private readonly options: GitHubOptions) {
    this.api = new ApiClient({
      platform: "GitHub",
      baseUrl: options.apiUrl,
      headers: { authorization: `Bearer ${options.token}`, accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28" },
      fetch: options.fetch,
    });
    this.repoPath = `/repos/${options.repository}`;
  }

  private threadIds = new Map<string, string>();
  private readonly graphqlNotes: string[] = [];

  private graphqlUrl(): string {
    // api.github.com/graphql; GitHub Enterprise Server: <host>/api/v3 → <host>/api/graphql.
    return this.api.baseUrl.endsWith("/api/v3") ? `${this.api.baseUrl.slice(0, -3)}graphql` : `${this.api.baseUrl}/graphql`;
  }

  private async graphql(query: string, variables: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    const response = await this.api.request("POST", this.graphqlUrl(), { query, variables });
    if (response.status >= 300 || !isRecord(response.json) || !isRecord(response.json["data"]) || Array.isArray(response.json["errors"])) {
      this.graphqlNotes.push(`GitHub GraphQL unavailable (${response.status}); thread resolution read from replies only`);
      return undefined;
    }
    return response.json["data"];
  }

  /** First-comment id → review thread, from GraphQL. */
  private async loadThreads(): Promise<Map<string, ThreadState>> {
    const [owner, name] = this.options.repository.split("/");
    const data = await this.graphql(threadsQuery, { owner, name, number: this.options.pullNumber });
    const threads = new Map<string, ThreadState>();
    const repository = isRecord(data?.["repository"]) ? data["repository"] : {};
    const pull = isRecord(repository["pullRequest"]) ? repository["pullRequest"] : {};
    const list = isRecord(pull["reviewThreads"]) && Array.isArray(pull["reviewThreads"]["nodes"]) ? pull["reviewThreads"]["nodes"] : [];
    for (const thread of list.filter(isRecord)) {
      const comments = isRecord(thread["comments"]) && Array.isArray(thread["comments"]["nodes"]) ? thread["comments"]["nodes"].filter(isRecord) : [];
      const first = comments[0]?.["databaseId"];
      if (typeof first === "number") threads.set(String(first), { threadId: str(thread["id"]) ?? "", isResolved: thread["isResolved"] === true });
    }
    return threads;
  }

  async loadPriorState(): Promise<PriorState> {
    const n = this.options.pullNumber;
    this.graphqlNotes.length = 0;
    const [reviewComments, issueComments, threads] = await Promise.all([this.api.all(`${this.repoPath}/pulls/${n}/comments`), this.api.all(`${this.repoPath}/issues/${n}/comments`), this.loadThreads()]);
    this.threadIds = new Map([...threads].map(([commentId, t]) => [commentId, t.threadId]));
    const comments = reviewComments.filter(isRecord);
    const findings: PriorFinding[] = [];
    for (const comment of comments) {
      if (comment["in_reply_to_id"] !== undefined && comment["in_reply_to_id"] !== null) continue;
      const meta = readFindingMarker(str(comment["body"]) ?? "");
      if (!meta) continue;
      const id = num(comment["id"]);
      const replies = comments.filter((c) => num(c["in_reply_to_id"]) === id && !isGatehouseComment(str(c["body"]) ?? ""));
      const alreadyResolved = comments.some((c) => num(c["in_reply_to_id"]) === id && (str(c["body"]) ?? "").includes(resolvedMarker));
      findings.push({
        ...findingFromMarker(meta),
        threadId: String(id),
        resolved: !alreadyResolved && (threads.get(String(id))?.isResolved === true || replies.some((r) => /^\s*(resolved|done|fixed)\b/i.test(str(r["body"]) ?? ""))),
        fixedEarlier: alreadyResolved,
        wontFix: replies.some((r) => wontFixPattern.test(str(r["body"]) ?? "")),
      });
    }
    let breakGlass: BreakGlass | undefined;
    for (const comment of [...issueComments.filter(isRecord), ...comments]) {
      const body = str(comment["body"]) ?? "";
      if (isGatehouseComment(body) || !breakGlassPattern.test(body)) continue;
      breakGlass = { by: login(comment), at: str(comment["created_at"]) ?? "", text: body.slice(0, 200) };
      break;
    }
    return { findings, breakGlass };
  }

  async publish(result: ReviewResult, summaryMarkdown: string): Promise<PublishOutcome> {
    const n = this.options.pullNumber;
    const inline = result.findings.filter((f) => f.inline && (f.status === "new" || f.status === "reopened"));
    const comments = inline.map((f) => ({ path: f.path, line: f.line, side: "RIGHT", body: inlineCommentBody(f) }));
    const notes: string[] = [];
    let event: string = events[result.verdict];
    const post = (e: string) => this.api.request("POST", `${this.repoPath}/pulls/${n}/reviews`, { commit_id: result.headSha, body: summaryMarkdown, event: e, comments });
    let response = await post(event);
    // GITHUB_TOKEN may not approve (repo setting) and nobody may approve their own PR: fall back to a comment review.
    if (response.status === 422 && event === "APPROVE") {
      const reason = isRecord(response.json) ? `${str(response.json["message"]) ?? ""} ${JSON.stringify(response.json["errors"] ?? [])}` : "";
      notes.push(`APPROVE refused by GitHub (${reason}); posted as COMMENT`);
      event = "COMMENT";
      response = await post(event);
    }
    if (response.status >= 300) {
      const message = isRecord(response.json) ? `${str(response.json["message"]) ?? ""} ${JSON.stringify(response.json["errors"] ?? [])}` : "";
      throw new PlatformError("GitHub", response.status, `creating the review failed: ${message}`);
    }
    const review = isRecord(response.json) ? response.json : {};
    for (const fixed of result.fixed) {
      await this.api.ok("POST", `${this.repoPath}/pulls/${n}/comments/${fixed.threadId}/replies`, { body: `✅ Fixed in ${result.headSha.slice(0, 12)}.\n${resolvedMarker}` });
      const thread = this.threadIds.get(fixed.threadId);
      if (thread) await this.graphql(resolveMutation, { threadId: thread });
    }
    notes.push(...this.graphqlNotes);
    return { reference: str(review["html_url"]) ?? String(num(review["id"])), inlineComments: comments.length, resolvedThreads: result.fixed.length, platformVerdict: str(review["state"]) ?? event, notes };
  }

  async publishNotPerformed(summaryMarkdown: string): Promise<PublishOutcome> {
    // An issue comment, not a review: a review event (even COMMENT) would count as reviewed. An
    // earlier APPROVE is not dismissed; the failed job (a required check) is what blocks the merge.
    const comment = await this.api.ok("POST", `${this.repoPath}/issues/${this.options.pullNumber}/comments`, { body: summaryMarkdown });
    const reference = isRecord(comment) ? (str(comment["html_url"]) ?? String(num(comment["id"]))) : "";
    return { reference, inlineComments: 0, resolvedThreads: 0, platformVerdict: "none", notes: [] };
  }
}

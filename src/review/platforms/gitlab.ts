import { isRecord, str } from "../model/json.ts";
import { findingFromMarker, isGatehouseComment, readFindingMarker, resolvedMarker } from "../markers.ts";
import { inlineCommentBody } from "../render/markdown.ts";
import { breakGlassPattern, wontFixPattern, type BreakGlass, type PriorFinding, type PriorState } from "../rereview.ts";
import type { ReviewResult } from "../result.ts";
import { ApiClient } from "./http.ts";
import { PlatformError, type PublishOutcome, type ReviewPlatform } from "./types.ts";

export interface GitLabOptions {
  /** e.g. https://gitlab.com/api/v4 (CI_API_V4_URL) */
  apiUrl: string;
  token: string;
  /** Numeric id or full path (CI_PROJECT_ID). */
  projectId: string;
  mergeRequestIid: number;
  fetch?: typeof fetch | undefined;
}

function author(note: Record<string, unknown>): string {
  return isRecord(note["author"]) ? (str(note["author"]["username"]) ?? "unknown") : "unknown";
}

/** GitLab merge request discussions on diff lines; fixed findings' discussions are resolved. */
export class GitLabPlatform implements ReviewPlatform {
  readonly name = "gitlab";
  private readonly api: ApiClient;
  private readonly mrPath: string;

  constructor(private readonly options: GitLabOptions) {
    this.api = new ApiClient({ platform: "GitLab", baseUrl: options.apiUrl, headers: { "private-token": options.token }, fetch: options.fetch });
    this.mrPath = `/projects/${encodeURIComponent(options.projectId)}/merge_requests/${options.mergeRequestIid}`;
  }

  async loadPriorState(): Promise<PriorState> {
    const discussions = (await this.api.all(`${this.mrPath}/discussions`)).filter(isRecord);
    const findings: PriorFinding[] = [];
    let breakGlass: BreakGlass | undefined;
    for (const discussion of discussions) {
      const notes = (Array.isArray(discussion["notes"]) ? discussion["notes"] : []).filter(isRecord);
      const first = notes[0];
      const meta = first ? readFindingMarker(str(first["body"]) ?? "") : undefined;
      const humanReplies = notes.filter((n) => n["system"] !== true && !isGatehouseComment(str(n["body"]) ?? ""));
      if (meta) {
        findings.push({
          ...findingFromMarker(meta),
          threadId: str(discussion["id"]) ?? "",
          resolved: first?.["resolved"] === true && !notes.some((n) => (str(n["body"]) ?? "").includes(resolvedMarker)),
          fixedEarlier: notes.some((n) => (str(n["body"]) ?? "").includes(resolvedMarker)),
          wontFix: humanReplies.some((n) => wontFixPattern.test(str(n["body"]) ?? "")),
        });
      }
      if (!breakGlass) {
        const glass = humanReplies.find((n) => breakGlassPattern.test(str(n["body"]) ?? ""));
        if (glass) breakGlass = { by: author(glass), at: str(glass["created_at"]) ?? "", text: (str(glass["body"]) ?? "").slice(0, 200) };
      }
    }
    return { findings, breakGlass };
  }

  async publish(result: ReviewResult, summaryMarkdown: string): Promise<PublishOutcome> {
    const mr = await this.api.ok("GET", this.mrPath);
    const refs = isRecord(mr) && isRecord(mr["diff_refs"]) ? mr["diff_refs"] : undefined;
    if (!refs) throw new PlatformError("GitLab", 200, "merge request has no diff_refs (is the diff still being prepared?)");
    const notes: string[] = [];
    const headSha = str(refs["head_sha"]) ?? "";
    if (headSha !== result.headSha) notes.push(`merge request head is ${headSha.slice(0, 12)}, reviewed ${result.headSha.slice(0, 12)}`);
    const summary = await this.api.ok("POST", `${this.mrPath}/notes`, { body: summaryMarkdown });
    const inline = result.findings.filter((f) => f.inline && (f.status === "new" || f.status === "reopened"));
    let posted = 0;
    for (const f of inline) {
      const oldPath = result.renamedFrom[f.path] ?? f.path;
      const position = { position_type: "text", base_sha: str(refs["base_sha"]), start_sha: str(refs["start_sha"]), head_sha: headSha, old_path: oldPath, new_path: f.path, new_line: f.line };
      const response = await this.api.request("POST", `${this.mrPath}/discussions`, { body: inlineCommentBody(f), position });
      if (response.status >= 300) {
        // A line GitLab cannot anchor (e.g. diff refreshed since) still reaches the author, as a plain note.
        notes.push(`inline comment on ${f.path}:${f.line} refused (${response.status}); posted as a note`);
        await this.api.ok("POST", `${this.mrPath}/notes`, { body: `**${f.path}:${f.line}**\n\n${inlineCommentBody(f)}` });
      }
      posted += 1;
    }
    for (const fixed of result.fixed) {
      await this.api.ok("POST", `${this.mrPath}/discussions/${fixed.threadId}/notes`, { body: `✅ Fixed in ${result.headSha.slice(0, 12)}.\n${resolvedMarker}` });
      await this.api.ok("PUT", `${this.mrPath}/discussions/${fixed.threadId}?resolved=true`);
    }
    let platformVerdict: string = result.verdict;
    if (result.verdict === "approved") {
      const approval = await this.api.request("POST", `${this.mrPath}/approve`);
      if (approval.status >= 300) notes.push(`approve refused (${approval.status}); verdict is in the summary note`);
      else platformVerdict = "approved";
    }
    return { reference: isRecord(summary) ? String(summary["id"]) : "", inlineComments: posted, resolvedThreads: result.fixed.length, platformVerdict, notes };
  }

  async publishNotPerformed(summaryMarkdown: string): Promise<PublishOutcome> {
    const summary = await this.api.ok("POST", `${this.mrPath}/notes`, { body: summaryMarkdown });
    const notes: string[] = [];
    // An approval from an earlier push must not stand for a change nobody reviewed.
    const withdrawn = await this.api.request("POST", `${this.mrPath}/unapprove`);
    if (withdrawn.status < 300) notes.push("withdrew Gatehouse's earlier approval of this merge request");
    else if (withdrawn.status !== 404) notes.push(`could not withdraw an earlier approval (${withdrawn.status})`);
    return { reference: isRecord(summary) ? String(summary["id"]) : "", inlineComments: 0, resolvedThreads: 0, platformVerdict: "none", notes };
  }
}

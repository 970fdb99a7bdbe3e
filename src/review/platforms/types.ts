import type { PriorState } from "../rereview.ts";
import type { ReviewResult } from "../result.ts";

export interface PublishOutcome {
  /** URL or id of the posted review/summary. */
  reference: string;
  inlineComments: number;
  resolvedThreads: number;
  /** What the platform recorded as the verdict (GitHub may refuse APPROVE to Actions tokens). */
  platformVerdict: string;
  notes: string[];
}

/** A code host Gatehouse reviews on: reads the earlier review state, posts the new one. */
export interface ReviewPlatform {
  readonly name: "github" | "gitlab";
  loadPriorState(): Promise<PriorState>;
  publish(result: ReviewResult, summaryMarkdown: string): Promise<PublishOutcome>;
  /**
   * Says that no review was performed: a plain comment, never a review verdict, no inline
   * comments, no thread resolved; an earlier approval by Gatehouse is withdrawn where the
   * platform allows it.
   */
  publishNotPerformed(summaryMarkdown: string): Promise<PublishOutcome>;
}

export class PlatformError extends Error {
  constructor(
    readonly platform: string,
    readonly status: number,
    message: string,
  ) {
    super(`${platform} API: ${message}`);
    this.name = "PlatformError";
  }
}

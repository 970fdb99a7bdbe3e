import type { StepStatus } from "./tables.ts";

/** One settled attempt, as progress sees it. */
export interface StepEvent {
  item: string;
  status: StepStatus;
  attempt: number;
  costUsd: number;
  error?: string;
}

export interface JobProgress {
  /** Called once with the step counts the store has when this worker starts (a resumed job has some done). */
  start(jobId: string, total: number, settled: number): void;
  step(event: StepEvent): void;
  finish(): void;
}

export const silentProgress: JobProgress = { start: () => undefined, step: () => undefined, finish: () => undefined };

/** JSON lines, one per event: what CI logs and other programs read. */
export function jsonProgress(write: (line: string) => void, now: () => number): JobProgress {
  let jobId = "";
  let total = 0;
  let settled = 0;
  return {
    start(id, all, already) {
      jobId = id;
      total = all;
      settled = already;
      write(`${JSON.stringify({ event: "start", job: jobId, total, settled, at: now() })}\n`);
    },
    step(event) {
      if (event.status !== "pending") settled += 1;
      write(`${JSON.stringify({ event: "step", job: jobId, ...event, settled, total, at: now() })}\n`);
    },
    finish() {
      write(`${JSON.stringify({ event: "finish", job: jobId, settled, total, at: now() })}\n`);
    },
  };
}

const BAR_WIDTH = 30;

/** A progress bar redrawn in place, for a terminal. */
export function barProgress(write: (text: string) => void): JobProgress {
  let total = 0;
  let settled = 0;
  let failed = 0;
  let retried = 0;
  let cost = 0;
  const draw = (): void => {
    const filled = total === 0 ? BAR_WIDTH : Math.round((settled / total) * BAR_WIDTH);
    write(`\r[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${settled}/${total}  failed ${failed}  retrying ${retried}  $${cost.toFixed(4)}`);
  };
  return {
    start(_id, all, already) {
      total = all;
      settled = already;
      draw();
    },
    step(event) {
      cost += event.costUsd;
      if (event.status === "pending") retried += 1;
      else settled += 1;
      if (event.status === "failed") failed += 1;
      draw();
    },
    finish() {
      write("\n");
    },
  };
}

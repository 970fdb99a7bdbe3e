import { describeError } from "../../core/app.ts";
import type { Logger } from "../../core/logger.ts";

/** How often `gatehouse serve` deletes captured bodies past the retention (docs/dashboard.md#body-capture). */
export const CAPTURE_PRUNE_MS = 10 * 60_000;

/**
 * The retention of captured bodies on Node: a timer (not keeping the process alive) deletes
 * rows past `bodyCapture.retentionHours` every `everyMs`, and once at start, so bodies expire
 * even when no request comes to trigger the writer's own prune. Returns the stop function.
 */
export function startCaptureRetention(capture: { prune(): Promise<number> }, logger: Logger, everyMs = CAPTURE_PRUNE_MS): () => Promise<void> {
  let running: Promise<void> | undefined;
  const round = () => {
    running ??= capture
      .prune()
      .then((deleted) => {
        if (deleted > 0) logger.info({ deleted }, "deleted captured bodies past their retention");
      })
      .catch((err: unknown) => logger.warn({ err: describeError(err) }, "expired captured bodies could not be deleted; the next round retries"))
      .finally(() => {
        running = undefined;
      });
  };
  round();
  const timer = setInterval(round, everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

import type { Logger } from "../core/logger.ts";
import { describeError } from "../core/app.ts";
import type { SessionStore } from "./sessions.ts";

/**
 * Tells portal sessions to re-list after an upstream's lists changed. A per-user upstream's
 * change goes to that caller's sessions only; changes are coalesced for `delayMs`, so 50
 * upstream sessions announcing their tools as they start make one notification per portal
 * session, not 50 × sessions.
 */
export class ListChangeNotifier {
  private pending = new Set<string>();
  private everyone = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly sessions: SessionStore,
    private readonly logger: Logger,
    private readonly delayMs = 100,
  ) {}

  /** `callerId` undefined: a shared upstream changed, so every session re-lists. */
  changed(callerId: string | undefined): void {
    if (callerId === undefined) this.everyone = true;
    else this.pending.add(callerId);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const everyone = this.everyone;
    const callers = this.pending;
    this.everyone = false;
    this.pending = new Set();
    for (const session of this.sessions.all()) {
      if (!everyone && !callers.has(session.callerId)) continue;
      for (const send of [() => session.server.sendToolListChanged(), () => session.server.sendResourceListChanged(), () => session.server.sendPromptListChanged()]) {
        send().catch((err: unknown) => this.logger.debug({ err: describeError(err) }, "mcp: list_changed not delivered"));
      }
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

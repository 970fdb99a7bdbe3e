import type { Logger } from "./logger.ts";

type Level = "warn" | "error";

/**
 * Rate-limits repeated identical log lines: the first occurrence of a (message, error text)
 * pair is logged, later ones within `windowMs` are only counted, and the next line after the
 * window carries `repeated: n` (how many were held back). A store that fails on every request
 * logs a few lines a minute instead of one per request.
 */
export class LogThrottle {
  private readonly seen = new Map<string, { at: number; held: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    private readonly windowMs = 30_000,
    /** Distinct lines remembered; past it the oldest are forgotten (logged again when seen). */
    private readonly maxKeys = 1_000,
  ) {}

  warn(fields: Record<string, unknown>, message: string): void {
    this.log("warn", fields, message);
  }

  error(fields: Record<string, unknown>, message: string): void {
    this.log("error", fields, message);
  }

  /** Lines held back so far and not yet reported (for tests and summaries). */
  get held(): number {
    let n = 0;
    for (const entry of this.seen.values()) n += entry.held;
    return n;
  }

  private log(level: Level, fields: Record<string, unknown>, message: string): void {
    const err = fields["err"];
    const detail = err && typeof err === "object" && "message" in err ? String(err.message) : "";
    const key = `${level}\u0000${message}\u0000${detail}`;
    const now = this.now();
    const entry = this.seen.get(key);
    if (entry && now - entry.at < this.windowMs) {
      entry.held++;
      return;
    }
    const repeated = entry?.held ?? 0;
    this.seen.delete(key);
    if (this.seen.size >= this.maxKeys) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(key, { at: now, held: 0 });
    this.logger[level](repeated > 0 ? { ...fields, repeated } : fields, message);
  }
}

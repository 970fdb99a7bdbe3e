/**
 * Whether the store answers, as the code paths that use it saw last. A store error of the
 * "cannot reach it" kind marks it down; while down, callers that can fail fast (budget
 * reservations, rate-limit checks) try it at most once per `probeMs` instead of queueing on
 * a dead pool for the connect timeout. Any success marks it up again. Pure: no timers, so it
 * runs on every runtime.
 */
export class StoreHealth {
  private downSince: number | undefined;
  private lastTry = 0;
  private lastReason = "";
  private readonly listeners = new Set<(up: boolean) => void>();

  constructor(
    private readonly now: () => number,
    private readonly probeMs = 1_000,
  ) {}

  get up(): boolean {
    return this.downSince === undefined;
  }

  /** Why the store is down ("" when up): the last error's message. */
  get reason(): string {
    return this.downSince === undefined ? "" : this.lastReason;
  }

  get downForMs(): number {
    return this.downSince === undefined ? 0 : this.now() - this.downSince;
  }

  /** True when a call should go to the store: it is up, or a probe is due (one per probeMs). */
  shouldTry(): boolean {
    if (this.downSince === undefined) return true;
    const now = this.now();
    if (now - this.lastTry < this.probeMs) return false;
    this.lastTry = now;
    return true;
  }

  /** A call failed; only errors that say the store is unreachable mark it down. Returns whether they did. */
  failed(err: unknown): boolean {
    if (!isStoreUnavailableError(err)) return false;
    this.lastReason = err instanceof Error ? err.message : String(err);
    if (this.downSince === undefined) {
      this.downSince = this.now();
      this.lastTry = this.downSince;
      for (const listener of this.listeners) listener(false);
    }
    return true;
  }

  succeeded(): void {
    if (this.downSince === undefined) return;
    this.downSince = undefined;
    this.lastReason = "";
    for (const listener of this.listeners) listener(true);
  }

  /** Called with false when the store goes down and true when it is back. Returns an unsubscribe. */
  onChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

// PostgreSQL SQLSTATE classes and codes that mean "the server is not there for you now":
// 08 connection exception, 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect
// now (starting up), 53300 too many connections, 25006 read-only transaction (a standby).
const PG_UNAVAILABLE = /^(08...|57P0[1-3]|53300|53100|25006)$/;
// Node socket errors and SQLite result codes of a store that cannot be reached or written.
const SYSTEM_UNAVAILABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "SQLITE_FULL",
  "SQLITE_READONLY",
  "SQLITE_IOERR",
  "SQLITE_CANTOPEN",
  "SQLITE_CORRUPT",
  "ENOSPC",
  "EROFS",
  "EACCES",
  "EDQUOT",
]);
// pg's own errors carry no code: a pool that cannot connect in time, a socket that closed.
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|terminating connection|the database system is (starting up|shutting down|in recovery)|ledger write failed: .*(disk|readonly|read-only|locked|busy)/i;

/** True for errors that mean the store cannot be reached or written (not a bad query). */
export function isStoreUnavailableError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    if (typeof e !== "object") break;
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (PG_UNAVAILABLE.test(code) || SYSTEM_UNAVAILABLE.has(code) || SYSTEM_UNAVAILABLE.has(code.split("_").slice(0, 2).join("_")))) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && UNAVAILABLE_MESSAGES.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

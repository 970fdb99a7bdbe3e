import type { Caller } from "../core/caller.ts";
import type { TokenFacts } from "./revocations.ts";

interface Entry {
  caller: Caller;
  /** Epoch ms after which the token is no longer valid. */
  expiresAt: number;
  /** Checked against the revocation list on every use, not only the first. */
  facts: TokenFacts;
}

/**
 * Verified tokens, so the hot path verifies a signature once per token rather than once per
 * request. Bounded: the oldest entry goes first when full (tokens are long-lived, callers few).
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = 50_000) {}

  get(token: string, now: number): { caller: Caller; facts: TokenFacts } | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(token);
      return undefined;
    }
    return entry;
  }

  set(token: string, caller: Caller, expiresAt: number, facts: TokenFacts): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(token, { caller, expiresAt, facts });
  }

  get size(): number {
    return this.entries.size;
  }
}

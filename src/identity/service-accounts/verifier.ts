import type { Caller } from "../../core/caller.ts";
import type { Clock } from "../../core/clock.ts";
import { GatewayError } from "../../core/errors.ts";
import { hashServiceAccountKey } from "./keys.ts";
import type { ServiceAccounts } from "./store.ts";

interface Entry {
  caller: Caller;
  /** Epoch ms after which the key or its account is no longer valid. */
  validUntil: number;
  /** Monotonic ms when read from the store. */
  readAt: number;
}

/**
 * Verifies a service-account key against the store, in every auth mode (behind an IAP too:
 * the gateway checks the key itself, not the proxy). A verified key is trusted from memory
 * for at most `freshMs` (GATEHOUSE_REVOCATION_POLL_MS), then read again, so a revocation or
 * a changed scope made on any instance applies everywhere within that bound. Unknown keys are
 * not remembered: a key created a moment ago works at once.
 */
export class ServiceAccountVerifier {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly accounts: ServiceAccounts,
    private readonly clock: Clock,
    private readonly freshMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** Drops what this instance remembers of an account's keys, so a revocation made here applies here at once. */
  forgetAccount(accountId: string): void {
    for (const [hash, entry] of this.entries) if (entry.caller.id === accountId) this.entries.delete(hash);
  }

  async authenticate(key: string): Promise<Caller> {
    const hash = await hashServiceAccountKey(key);
    const now = this.clock.now();
    const cached = this.entries.get(hash);
    if (cached && this.clock.monotonic() - cached.readAt <= this.freshMs) {
      if (cached.validUntil <= now) throw expired();
      return cached.caller;
    }
    this.entries.delete(hash);
    const found = await this.accounts.lookup(hash);
    if (!found || found.key.revokedAt !== null || found.account.disabledAt !== null) {
      throw new GatewayError("unauthenticated", "Service account key is unknown or revoked. Create a new one with gatehouse service-account key add <name>.");
    }
    const { key: record, account } = found;
    const validUntil = Math.min(record.expiresAt ?? Number.POSITIVE_INFINITY, account.expiresAt ?? Number.POSITIVE_INFINITY);
    if (validUntil <= now) throw expired();
    const caller: Caller = {
      id: account.id,
      email: undefined,
      // The owning group's policy applies (allowed models, group budgets); the scopes narrow it.
      groups: [account.ownerGroup],
      team: account.ownerGroup,
      tokenId: record.id,
      serviceAccount: {
        name: account.name,
        routes: account.scopes.routes,
        models: account.scopes.models,
        mcpServers: account.scopes.mcpServers,
        metricsRead: account.scopes.metricsRead,
        admin: account.scopes.admin,
        limits: account.limits,
      },
    };
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(hash, { caller, validUntil, readAt: this.clock.monotonic() });
    return caller;
  }
}

function expired(): GatewayError {
  return new GatewayError("unauthenticated", "Service account key has expired (or its account has). Create a new key with gatehouse service-account key add <name>.");
}

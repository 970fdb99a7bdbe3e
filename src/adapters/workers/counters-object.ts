import type { BudgetClaim, ReserveOutcome } from "../../policy/counters.ts";
import { slidingWindowRetryAfter, type RateClaim, type RateOutcome } from "../../policy/rate-limit.ts";
import type { DurableObjectState, SqlStorage } from "./bindings.ts";

// Same tolerance as the in-memory store: an exact fit (50 x $0.02 in $1.00) is admitted.
const EPSILON = 1e-9;
const WINDOW_MS = 60_000;
const RESERVATION_TTL_MS = 3_600_000;

export interface ReserveCall {
  claims: BudgetClaim[];
  amountUsd: number;
  now: number;
}
export interface SettleCall {
  rowId: string;
  keys: string[];
  actualUsd: number;
  now: number;
}
export interface RateTakeCall {
  claims: RateClaim[];
  now: number;
}
export interface RateCorrectCall {
  key: string;
  window: number;
  delta: number;
}

/**
 * The one place a Workers deployment counts budgets and rate limits exactly. A Durable
 * Object runs one request at a time, and every operation here is synchronous SQL on the
 * object's own SQLite storage, so check-and-add is atomic without locks, and the state
 * survives eviction and restarts. Reservations expire (an isolate that died mid-request
 * does not hold budget forever). One object ("global") serves the whole deployment.
 */
export class CountersObject {
  private readonly sql: SqlStorage;

  constructor(state: DurableObjectState) {
    this.sql = state.storage.sql;
    this.sql.exec(`create table if not exists counters (key text primary key, settled real not null default 0)`);
    this.sql.exec(`create table if not exists reservations (id text not null, key text not null, amount real not null, expires_at integer not null, primary key (id, key))`);
    this.sql.exec(`create index if not exists reservations_key on reservations (key, expires_at)`);
    this.sql.exec(`create table if not exists rate_windows (key text not null, window_start integer not null, amount real not null, primary key (key, window_start))`);
  }

  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    try {
      if (request.method === "POST" && path === "/reserve") return Response.json(this.reserve((await request.json()) as ReserveCall));
      if (request.method === "POST" && path === "/settle") return Response.json(this.settle((await request.json()) as SettleCall));
      if (request.method === "POST" && path === "/reconcile") return Response.json(this.reconcile((await request.json()) as { totals: Array<[string, number]> }));
      if (request.method === "POST" && path === "/rate/take") return Response.json(this.take((await request.json()) as RateTakeCall));
      if (request.method === "POST" && path === "/rate/correct") return Response.json(this.correct((await request.json()) as RateCorrectCall));
      if (request.method === "POST" && path === "/prune") return Response.json(this.prune((await request.json()) as { now: number; liveKeys?: string[] }));
      if (request.method === "GET" && path === "/used") return Response.json({ usedUsd: this.used(new URL(request.url).searchParams.get("key") ?? "", Date.now()) });
    } catch (err) {
      return Response.json({ error: err instanceof Error ? err.message : String(err) }, { status: 500 });
    }
    return Response.json({ error: `no route ${request.method} ${path}` }, { status: 404 });
  }

  private used(key: string, now: number): number {
    const settled = this.sql.exec<{ settled: number }>(`select settled from counters where key = ?`, key).toArray()[0]?.settled ?? 0;
    const reserved = this.sql.exec<{ total: number | null }>(`select sum(amount) as total from reservations where key = ? and expires_at > ?`, key, now).toArray()[0]?.total ?? 0;
    return settled + reserved;
  }

  reserve(call: ReserveCall): ReserveOutcome & { rowId?: string; used?: Record<string, number> } {
    const used: Record<string, number> = {};
    for (const claim of call.claims) {
      const value = this.used(claim.key, call.now);
      used[claim.key] = value;
      if (value >= claim.limitUsd - EPSILON || value + call.amountUsd > claim.limitUsd + EPSILON) return { ok: false, claim, usedUsd: value };
    }
    const rowId = crypto.randomUUID();
    const keys = [...new Set(call.claims.map((c) => c.key))];
    for (const key of keys) {
      this.sql.exec(`insert into reservations (id, key, amount, expires_at) values (?, ?, ?, ?)`, rowId, key, call.amountUsd, call.now + RESERVATION_TTL_MS);
      used[key] = (used[key] ?? 0) + call.amountUsd;
    }
    return { ok: true, reservation: { id: 0, keys, amountUsd: call.amountUsd }, rowId, used };
  }

  settle(call: SettleCall): { ok: true } {
    this.sql.exec(`delete from reservations where id = ?`, call.rowId);
    if (call.actualUsd > 0) {
      for (const key of call.keys) {
        this.sql.exec(`insert into counters (key, settled) values (?, ?) on conflict (key) do update set settled = settled + excluded.settled`, key, call.actualUsd);
      }
    }
    return { ok: true };
  }

  reconcile(call: { totals: Array<[string, number]> }): { ok: true } {
    for (const [key, total] of call.totals) {
      this.sql.exec(`insert into counters (key, settled) values (?, ?) on conflict (key) do update set settled = max(settled, excluded.settled)`, key, total);
    }
    return { ok: true };
  }

  take(call: RateTakeCall): RateOutcome {
    const index = Math.floor(call.now / WINDOW_MS);
    const start = index * WINDOW_MS;
    const elapsed = (call.now % WINDOW_MS) / WINDOW_MS;
    const amountAt = (key: string, windowStart: number) => this.sql.exec<{ amount: number }>(`select amount from rate_windows where key = ? and window_start = ?`, key, windowStart).toArray()[0]?.amount ?? 0;
    for (const claim of call.claims) {
      const current = amountAt(claim.key, start);
      const previous = amountAt(claim.key, start - WINDOW_MS);
      const estimate = previous * (1 - elapsed) + current;
      const fitsAlone = claim.amount > claim.limit && current === 0 && previous * (1 - elapsed) < 1;
      if (estimate + claim.amount > claim.limit && !fitsAlone) return { ok: false, claim, retryAfterSeconds: slidingWindowRetryAfter(current, previous, claim, elapsed) };
    }
    for (const claim of call.claims) {
      this.sql.exec(`insert into rate_windows (key, window_start, amount) values (?, ?, ?) on conflict (key, window_start) do update set amount = amount + excluded.amount`, claim.key, start, claim.amount);
    }
    return { ok: true, holds: call.claims.map((c) => ({ key: c.key, window: index, amount: c.amount })) };
  }

  correct(call: RateCorrectCall): { ok: true } {
    this.sql.exec(`update rate_windows set amount = max(0, amount + ?) where key = ? and window_start = ?`, call.delta, call.key, call.window * WINDOW_MS);
    return { ok: true };
  }

  prune(call: { now: number; liveKeys?: string[] }): { ok: true } {
    this.sql.exec(`delete from reservations where expires_at <= ?`, call.now);
    this.sql.exec(`delete from rate_windows where window_start < ?`, (Math.floor(call.now / WINDOW_MS) - 1) * WINDOW_MS);
    return { ok: true };
  }
}

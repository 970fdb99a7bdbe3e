import { sql, type Kysely } from "kysely";
import type { Clock } from "../../../core/clock.ts";
import type { Logger } from "../../../core/logger.ts";
import { describeError } from "../../../core/app.ts";
import { LogThrottle } from "../../../core/log-throttle.ts";
import type { BudgetClaim, CounterStore, Reservation, ReserveOutcome } from "../../../policy/counters.ts";
import type { Database } from "../../../store/index.ts";
import { renewLease, releaseLease } from "./lease.ts";

export interface PostgresCounterOptions {
  clock: Clock;
  logger: Logger;
  /**
   * How long a reservation counts after its instance's last heartbeat: a live instance renews
   * its outstanding reservations every third of this, so only a dead (or partitioned)
   * instance's reservations lapse, within this bound. Default 15 s.
   */
  reservationTtlMs?: number;
  /** This instance's name in its lease row (`instance:<id>` in cluster_leases). */
  instanceId?: string;
}

/** A settle the store did not take yet: retried at every heartbeat until it does. */
interface PendingSettle {
  rowId: string | undefined;
  keys: readonly string[];
  /** What was reserved: what a lapsed reservation was charged, to correct with the real cost. */
  amountUsd: number;
  actualUsd: number;
}

/** Settles kept for retry while the store is down; past it the ledger reconciliation catches the cost up. */
const MAX_PENDING_SETTLES = 100_000;

/** How long the tombstone of a charged (lapsed) reservation is kept for a late settle to correct. */
const TOMBSTONE_MS = 86_400_000;

/** The reservation carries its row id, so any instance can settle it. */
interface SharedReservation extends Reservation {
  readonly rowId: string;
}

// Same tolerance as the in-memory store: an exact fit (50 x $0.02 in $1.00) is admitted.
const EPSILON = 1e-9;

/**
 * Exact budget counters shared by every instance through PostgreSQL. A reservation is one
 * transaction that locks the counter rows of every key it claims (in key order, so two
 * reservations never deadlock), sums the outstanding reservations, checks every limit and
 * inserts its reservation rows: the same all-or-nothing contract as the in-memory store,
 * across processes. Reservations live on the instance's lease: `start()` renews the lease
 * row and the expiry of every reservation still outstanding here every `ttl / 3`, so a
 * crashed instance's reservations stop counting within `reservationTtlMs` (15 s) instead of
 * holding budget. A settle the store did not take is retried at each heartbeat. `used`
 * answers from what this instance last saw.
 */
export class PostgresCounterStore implements CounterStore {
  private readonly seen = new Map<string, number>();
  private readonly ttlMs: number;
  private reservationSeq = 1;
  /** Row ids of reservations granted here and not settled yet: what the heartbeat renews. */
  private readonly outstanding = new Set<string>();
  private pendingSettles: PendingSettle[] = [];
  private droppedSettles = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private beating: Promise<void> | undefined;
  private readonly log: LogThrottle;
  private readonly instanceId: string;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: PostgresCounterOptions,
  ) {
    this.ttlMs = options.reservationTtlMs ?? 15_000;
    this.instanceId = options.instanceId ?? crypto.randomUUID();
    this.log = new LogThrottle(options.logger, () => options.clock.now());
  }

  /** The bound on a stopped instance's reservations, for denial messages and docs. */
  get reservationTtl(): number {
    return this.ttlMs;
  }

  /** Settles waiting for the store. */
  get pending(): number {
    return this.pendingSettles.length;
  }

  /** Starts the heartbeat (lease + reservation renewal + settle retries). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.heartbeat(), Math.max(1_000, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
    void this.heartbeat();
  }

  /** Stops the heartbeat; retries pending settles once more and gives the lease up. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.heartbeat();
    try {
      await releaseLease(this.db, this.leaseName(), this.instanceId);
    } catch (err) {
      this.log.warn({ err: describeError(err) }, "could not release the instance lease; it lapses by itself");
    }
    if (this.pendingSettles.length > 0) this.options.logger.error({ settles: this.pendingSettles.length }, "budget settles not written at shutdown; the ledger reconciliation adds their cost at the next run");
  }

  /**
   * One heartbeat: renews this instance's lease and, in the same transaction, the expiry of
   * its outstanding reservations; then retries pending settles. A failure is retried at the
   * next beat (a reservation lapses only after ttl without one).
   */
  heartbeat(): Promise<void> {
    this.beating ??= this.beat().finally(() => {
      this.beating = undefined;
    });
    return this.beating;
  }

  private async beat(): Promise<void> {
    const now = this.options.clock.now();
    const expiresAt = now + this.ttlMs;
    const ids = [...this.outstanding];
    try {
      await this.db.transaction().execute(async (trx) => {
        await renewLease(trx, this.leaseName(), this.instanceId, expiresAt);
        for (let i = 0; i < ids.length; i += 1000) {
          // Not a tombstone: a reservation already charged (lapsed) must not count again.
          await trx
            .updateTable("budget_reservations")
            .set({ expires_at: expiresAt })
            .where("id", "in", ids.slice(i, i + 1000))
            .where("expires_at", ">", 0)
            .execute();
        }
      });
    } catch (err) {
      this.log.warn({ err: describeError(err), reservations: ids.length }, "budget reservation heartbeat failed; retrying at the next beat");
      return;
    }
    await this.retrySettles();
  }

  private leaseName(): string {
    return `instance:${this.instanceId}`;
  }

  async reserve(claims: readonly BudgetClaim[], amountUsd: number, requestId?: string): Promise<ReserveOutcome> {
    const now = this.options.clock.now();
    const keys = [...new Set(claims.map((c) => c.key))].sort();
    if (keys.length === 0) return { ok: true, reservation: this.reservation(crypto.randomUUID(), [], amountUsd) };
    // The request id when known: a lapsed reservation is then charged its ledger row's real cost.
    const rowId = requestId ?? crypto.randomUUID();
    const outcome = await this.db.transaction().execute(async (trx): Promise<ReserveOutcome> => {
      await trx
        .insertInto("budget_counters")
        .values(keys.map((key) => ({ key, settled_usd: 0, updated_at: now })))
        .onConflict((oc) => oc.column("key").doNothing())
        .execute();
      const counters = await trx.selectFrom("budget_counters").select(["key", "settled_usd"]).where("key", "in", keys).orderBy("key").forUpdate().execute();
      // Reservations whose instance stopped renewing them become spend: the real cost when the
      // request's ledger row is there, else the estimate (an upper bound: the request may well
      // have been served and billed; fail closed).
      const lapsed = await chargeLapsed(trx, keys, now);
      for (const row of counters) row.settled_usd += lapsed.get(row.key) ?? 0;
      const reserved = await trx
        .selectFrom("budget_reservations")
        .select(["key", (eb) => eb.fn.sum<number>("amount_usd").as("total")])
        .where("key", "in", keys)
        .where("expires_at", ">", now)
        .groupBy("key")
        .execute();
      const used = new Map<string, number>();
      for (const row of counters) used.set(row.key, row.settled_usd);
      for (const row of reserved) used.set(row.key, (used.get(row.key) ?? 0) + Number(row.total));
      for (const [key, value] of used) this.seen.set(key, value);

      for (const claim of claims) {
        const value = used.get(claim.key) ?? 0;
        if (value >= claim.limitUsd - EPSILON || value + amountUsd > claim.limitUsd + EPSILON) {
          const reservedUsd = Number(reserved.find((r) => r.key === claim.key)?.total ?? 0);
          return { ok: false as const, claim, usedUsd: value, reservedUsd, reservationBoundMs: this.ttlMs };
        }
      }
      await trx
        .insertInto("budget_reservations")
        .values(keys.map((key) => ({ id: rowId, key, amount_usd: amountUsd, expires_at: now + this.ttlMs })))
        .execute();
      for (const key of keys) this.seen.set(key, (used.get(key) ?? 0) + amountUsd);
      return { ok: true as const, reservation: this.reservation(rowId, keys, amountUsd) };
    });
    if (outcome.ok) this.outstanding.add(rowId);
    return outcome;
  }

  async settle(reservation: Reservation, actualUsd: number): Promise<void> {
    const rowId = (reservation as Partial<SharedReservation>).rowId;
    if (reservation.keys.length === 0) return;
    const settle: PendingSettle = { rowId, keys: reservation.keys, amountUsd: reservation.amountUsd, actualUsd };
    try {
      await this.write(settle);
      for (const key of reservation.keys) this.seen.set(key, Math.max(0, (this.seen.get(key) ?? 0) - reservation.amountUsd + actualUsd));
    } catch (err) {
      // The request is over, its cost is known: keep it and retry at each heartbeat. The
      // reservation keeps being renewed meanwhile, so the budget stays held, not freed.
      if (this.pendingSettles.length < MAX_PENDING_SETTLES) this.pendingSettles.push(settle);
      else this.droppedSettles++;
      this.log.error({ err: describeError(err), keys: reservation.keys.length, pending: this.pendingSettles.length, dropped: this.droppedSettles }, "budget settle failed; retrying at the next heartbeat");
    }
  }

  /** Deletes the reservation and adds the real cost, in one transaction. */
  private async write(settle: PendingSettle): Promise<void> {
    const now = this.options.clock.now();
    await this.db.transaction().execute(async (trx) => {
      // A key whose reservation lapsed (this instance missed its heartbeats) was charged what
      // its tombstone says (negative expires_at): there the real cost replaces that charge.
      // A key with no row at all (pruned a day later) gets the real cost, as a live one does.
      const rows = settle.rowId ? await trx.deleteFrom("budget_reservations").where("id", "=", settle.rowId).returning(["key", "amount_usd", "expires_at"]).execute() : [];
      const charged = new Map(rows.filter((r) => Number(r.expires_at) < 0).map((r) => [r.key, Number(r.amount_usd)]));
      const byDelta = new Map<number, string[]>();
      for (const key of settle.keys) {
        const delta = settle.actualUsd - (charged.get(key) ?? 0);
        if (delta !== 0) byDelta.set(delta, [...(byDelta.get(delta) ?? []), key]);
      }
      for (const [delta, keys] of byDelta) {
        await trx
          .updateTable("budget_counters")
          .set({ settled_usd: sql<number>`greatest(0, settled_usd + ${delta})`, updated_at: now })
          .where("key", "in", keys)
          .execute();
      }
    });
    if (settle.rowId) this.outstanding.delete(settle.rowId);
  }

  private async retrySettles(): Promise<void> {
    while (this.pendingSettles.length > 0) {
      const next = this.pendingSettles[0] as PendingSettle;
      try {
        await this.write(next);
      } catch (err) {
        this.log.warn({ err: describeError(err), pending: this.pendingSettles.length }, "budget settle retry failed; retrying at the next heartbeat");
        return;
      }
      this.pendingSettles.shift();
    }
  }

  /**
   * Raises counters to the ledger's totals, except for keys with an outstanding reservation.
   * A request's ledger row can be flushed (by any instance) before its settle has added the
   * same cost to the counter; raising the counter to a total that already holds that cost and
   * then settling would count it twice. Settle deletes the reservation and adds the cost in
   * one transaction, and this statement checks for reservations under the counter row's lock,
   * so a key without one has every flushed cost settled (or lost, and then its reservation has
   * expired): raising it is safe. Keys with traffic in flight are caught up at a later run.
   */
  async reconcile(totals: ReadonlyMap<string, number>): Promise<void> {
    if (totals.size === 0) return;
    const now = this.options.clock.now();
    const rows = [...totals].map(([key, total]) => ({ key, settled_usd: total, updated_at: now }));
    await this.db
      .insertInto("budget_counters")
      .values(rows)
      .onConflict((oc) =>
        oc
          .column("key")
          .doUpdateSet({
            settled_usd: sql<number>`greatest(budget_counters.settled_usd, excluded.settled_usd)`,
            updated_at: now,
          })
          .where(({ not, exists, selectFrom }) => not(exists(selectFrom("budget_reservations").select("budget_reservations.id").whereRef("budget_reservations.key", "=", "budget_counters.key").where("budget_reservations.expires_at", ">", now)))),
      )
      .execute();
  }

  /** Settled + reserved as this instance last read or changed it (other instances' later changes are not seen). */
  used(key: string): number {
    return this.seen.get(key) ?? 0;
  }

  /** Reads the shared value now: settled + unexpired reservations. */
  async read(key: string): Promise<number> {
    const now = this.options.clock.now();
    const counter = await this.db.selectFrom("budget_counters").select("settled_usd").where("key", "=", key).executeTakeFirst();
    const reserved = await this.db
      .selectFrom("budget_reservations")
      .select((eb) => eb.fn.sum<number>("amount_usd").as("total"))
      .where("key", "=", key)
      .where("expires_at", ">", now)
      .executeTakeFirst();
    const value = (counter?.settled_usd ?? 0) + Number(reserved?.total ?? 0);
    this.seen.set(key, value);
    return value;
  }

  prune(isLive: (key: string) => boolean): void {
    for (const key of this.seen.keys()) if (!isLive(key)) this.seen.delete(key);
    void this.pruneShared(isLive);
  }

  private async pruneShared(isLive: (key: string) => boolean): Promise<void> {
    const now = this.options.clock.now();
    try {
      // Keys nobody reserved on since their reservations lapsed: charged here.
      const stale = await this.db.selectFrom("budget_reservations").select("key").distinct().where("expires_at", ">", 0).where("expires_at", "<=", now).execute();
      const staleKeys = stale.map((r) => r.key).sort();
      for (let i = 0; i < staleKeys.length; i += 100) {
        const chunk = staleKeys.slice(i, i + 100);
        await this.db.transaction().execute(async (trx) => {
          await trx.selectFrom("budget_counters").select("key").where("key", "in", chunk).orderBy("key").forUpdate().execute();
          await chargeLapsed(trx, chunk, now);
        });
      }
      // Tombstones of charged reservations are kept a day, for a settle that arrives late.
      await this.db
        .deleteFrom("budget_reservations")
        .where("expires_at", "<", 0)
        .where("expires_at", ">", -(now - TOMBSTONE_MS))
        .execute();
      const keys = await this.db.selectFrom("budget_counters").select("key").execute();
      const dead = keys.map((r) => r.key).filter((key) => !isLive(key));
      for (let i = 0; i < dead.length; i += 500)
        await this.db
          .deleteFrom("budget_counters")
          .where("key", "in", dead.slice(i, i + 500))
          .execute();
    } catch (err) {
      this.log.warn({ err: describeError(err) }, "pruning shared budget counters failed; will retry at the next prune");
    }
  }

  private reservation(rowId: string, keys: string[], amountUsd: number): SharedReservation {
    return { id: this.reservationSeq++, rowId, keys, amountUsd };
  }
}

/**
 * Charges the lapsed reservations of `keys` to the counters (the caller
 * holds the counter rows' locks): the real cost of the request's ledger row when it was
 * written (the instance died after answering), else the reservation's estimate (it died
 * with the request in flight, or before flushing its row). Returns the amount per key.
 */
async function chargeLapsed(trx: Kysely<Database>, keys: readonly string[], now: number): Promise<Map<string, number>> {
  const rows = await trx
    .selectFrom("budget_reservations")
    .select(["id", "key", "amount_usd"])
    .where("key", "in", [...keys])
    .where("expires_at", ">", 0)
    .where("expires_at", "<=", now)
    .execute();
  if (rows.length === 0) return new Map();
  const ids = [...new Set(rows.map((r) => r.id))];
  const recorded = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 500) {
    for (const row of await trx
      .selectFrom("ledger")
      .select(["request_id", "cost_usd"])
      .where("request_id", "in", ids.slice(i, i + 500))
      .execute())
      recorded.set(row.request_id, Number(row.cost_usd));
  }
  const charged = new Map<string, number>();
  for (const row of rows) {
    const amount = recorded.get(row.id) ?? Number(row.amount_usd);
    charged.set(row.key, (charged.get(row.key) ?? 0) + amount);
    // The row stays as a tombstone (negative expires_at: counted by nothing) saying what was
    // charged, so a settle that arrives after all replaces exactly that.
    await trx.updateTable("budget_reservations").set({ amount_usd: amount, expires_at: -now }).where("id", "=", row.id).where("key", "=", row.key).execute();
  }
  for (const [key, amount] of charged) {
    await trx
      .updateTable("budget_counters")
      .set({ settled_usd: sql<number>`settled_usd + ${amount}` })
      .where("key", "=", key)
      .execute();
  }
  return charged;
}

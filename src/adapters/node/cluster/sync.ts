import type { Kysely } from "kysely";
import { describeError } from "../../../core/app.ts";
import { LogThrottle } from "../../../core/log-throttle.ts";
import type { Clock } from "../../../core/clock.ts";
import type { Logger } from "../../../core/logger.ts";
import { orgConfigSchema, type ConfigHolder, type OrgConfig } from "../../../config/index.ts";
import type { Catalog } from "../../../catalog/index.ts";
import type { Database } from "../../../store/index.ts";
import { tryAcquireLease } from "./lease.ts";
import { publishSnapshot, readSnapshot, sha256Hex, snapshotHead } from "./snapshots.ts";

export const CONFIG_SNAPSHOT = "org-config";
export const CATALOG_SNAPSHOT = "catalog";
export const CATALOG_LEASE = "catalog-refresh";

export interface ClusterSyncOptions {
  db: Kysely<Database>;
  config: ConfigHolder;
  catalog: Catalog;
  clock: Clock;
  logger: Logger;
  /** This instance's name in leases and snapshots (host:pid). */
  instanceId: string;
  /** How often to look for a newer config or catalog and for a due catalog refresh. */
  pollMs: number;
  /** Catalog refresh interval cluster-wide; 0 disables refreshing (snapshots are still followed). */
  catalogRefreshMs: number;
  catalogUrl: string;
  fetchFn?: typeof fetch;
}

/**
 * What makes many instances on one database behave as one gateway:
 * - org config: an instance that loads a config (start, or a file change it watched)
 *   publishes it; every other instance polls the revision and swaps it in. Last loaded wins.
 * - catalog: a lease lets exactly one instance per interval fetch models.dev; it publishes
 *   the raw document and the others load it from the database instead of fetching.
 * One cheap query per poll when nothing changed.
 */
export class ClusterSync {
  private configRevision = 0;
  private configDigest = "";
  private catalogRevision = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;
  /** A store outage fails every poll: one line per window, not one per poll. */
  private readonly log: LogThrottle;

  constructor(private readonly options: ClusterSyncOptions) {
    this.log = new LogThrottle(options.logger, () => options.clock.now());
  }

  /** Publishes this instance's config, takes whatever is newer, and starts polling. */
  async start(): Promise<void> {
    await this.publishConfig(this.options.config.current());
    await this.tick();
    this.unsubscribe = this.options.config.onChange((config) => {
      void this.publishConfig(config);
    });
    this.timer = setInterval(() => {
      void this.tick();
    }, this.options.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await this.running;
  }

  /**
   * One round: follow config, follow catalog, refresh the catalog if this instance wins the
   * lease. A call while a round runs joins that round: two overlapping rounds would both see
   * the same new revision and load it twice.
   */
  tick(): Promise<void> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(): Promise<void> {
    try {
      await this.followConfig();
      await this.followCatalog();
      await this.refreshCatalogIfDue();
    } catch (err) {
      this.log.warn({ err: describeError(err) }, "cluster sync round failed; retrying at the next poll");
    }
  }

  private async publishConfig(config: OrgConfig): Promise<void> {
    const body = JSON.stringify(config);
    const digest = await sha256Hex(body);
    // A config this instance just took from the database is not published back.
    if (digest === this.configDigest || this.stopped) return;
    try {
      const head = await publishSnapshot(this.options.db, CONFIG_SNAPSHOT, body, this.options.instanceId, this.options.clock.now());
      this.configRevision = head.revision;
      this.configDigest = head.digest;
      this.options.logger.info({ revision: head.revision }, "org config published to the cluster");
    } catch (err) {
      this.options.logger.error({ err: describeError(err) }, "publishing the org config failed; other instances keep theirs");
    }
  }

  private async followConfig(): Promise<void> {
    const head = await snapshotHead(this.options.db, CONFIG_SNAPSHOT);
    if (!head || head.revision === this.configRevision) return;
    const snapshot = await readSnapshot(this.options.db, CONFIG_SNAPSHOT);
    if (!snapshot) return;
    this.configRevision = snapshot.revision;
    if (snapshot.digest === this.configDigest) return;
    const parsed = orgConfigSchema.safeParse(JSON.parse(snapshot.body));
    if (!parsed.success) {
      // Another version of Gatehouse may have published a config this one cannot read.
      this.options.logger.error({ revision: snapshot.revision, issues: parsed.error.issues.length }, "cluster config is invalid for this instance; keeping the current config");
      return;
    }
    this.configDigest = snapshot.digest;
    this.options.config.replace(parsed.data);
    this.options.logger.info({ revision: snapshot.revision }, "org config updated from the cluster");
  }

  private async followCatalog(): Promise<void> {
    const head = await snapshotHead(this.options.db, CATALOG_SNAPSHOT);
    if (!head || head.revision === this.catalogRevision) return;
    const snapshot = await readSnapshot(this.options.db, CATALOG_SNAPSHOT);
    if (!snapshot) return;
    this.catalogRevision = snapshot.revision;
    const result = this.options.catalog.load(JSON.parse(snapshot.body));
    if (result.ok) this.options.logger.info({ revision: snapshot.revision, models: result.models }, "catalog loaded from the cluster");
    else this.options.logger.warn({ reason: result.reason }, "cluster catalog rejected; keeping the current catalog");
  }

  private async refreshCatalogIfDue(): Promise<void> {
    const { catalogRefreshMs, db, clock, instanceId } = this.options;
    if (catalogRefreshMs === 0) return;
    if (!(await tryAcquireLease(db, CATALOG_LEASE, instanceId, clock.now(), catalogRefreshMs))) return;
    const text = await this.fetchCatalog();
    if (text === undefined) return;
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (err) {
      this.options.logger.warn({ err: describeError(err) }, "catalog refresh returned invalid JSON; keeping the current catalog");
      return;
    }
    const result = this.options.catalog.load(document);
    if (!result.ok) {
      this.options.logger.warn({ reason: result.reason }, "catalog refresh rejected; keeping the current catalog");
      return;
    }
    const head = await publishSnapshot(db, CATALOG_SNAPSHOT, text, instanceId, clock.now());
    this.catalogRevision = head.revision;
    this.options.logger.info({ revision: head.revision, models: result.models }, "catalog refreshed for the cluster");
  }

  private async fetchCatalog(): Promise<string | undefined> {
    const fetchFn = this.options.fetchFn ?? fetch;
    try {
      const response = await fetchFn(this.options.catalogUrl, { signal: AbortSignal.timeout(15_000), headers: { accept: "application/json" } });
      if (!response.ok) {
        await response.body?.cancel();
        this.options.logger.warn({ url: this.options.catalogUrl, status: response.status }, `catalog refresh from ${this.options.catalogUrl} failed; keeping the current catalog`);
        return undefined;
      }
      return await response.text();
    } catch (err) {
      this.options.logger.warn({ url: this.options.catalogUrl, err: describeError(err) }, `catalog refresh from ${this.options.catalogUrl} failed; keeping the current catalog (set GATEHOUSE_CATALOG_URL to a reachable copy, or GATEHOUSE_CATALOG_REFRESH_MS=0)`);
      return undefined;
    }
  }
}

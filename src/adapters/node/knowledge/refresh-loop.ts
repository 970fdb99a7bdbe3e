import { hostname } from "node:os";
import type { Kysely } from "kysely";
import { describeError } from "../../../core/app.ts";
import type { Clock } from "../../../core/clock.ts";
import type { SecretSource } from "../../../core/deps.ts";
import type { Logger } from "../../../core/logger.ts";
import type { OrgConfig } from "../../../config/index.ts";
import type { KnowledgeRefreshConfig, KnowledgeSourceConfig } from "../../../config/knowledge-schema.ts";
import { catalogStore, pruneRemovedSources, refreshCatalog, type CatalogSource, type RemovedSourceReport, type SourceRefreshReport } from "../../../knowledge/index.ts";
import type { Database } from "../../../store/index.ts";
import { renewLease, tryAcquireLease } from "../cluster/lease.ts";
import { configuredSource } from "./configured-sources.ts";

/** The cluster lease of one source: its expiry is the source's next due time, shared by every instance. */
export const knowledgeLeaseName = (source: string): string => `knowledge-refresh:${source}`;

/** How often the loop looks for a due source: the delay between "due" and "refreshing". */
export const KNOWLEDGE_POLL_MS = 30_000;
/** A refresh that runs longer than this is taken to have died with its instance: another may start one. */
export const KNOWLEDGE_RUN_LEASE_MS = 30 * 60_000;

export interface KnowledgeRefreshLoopOptions {
  db: Kysely<Database>;
  config: { current(): OrgConfig };
  secrets: SecretSource;
  logger: Logger;
  clock: Clock;
  /** This instance's holder name in the leases. */
  instanceId?: string;
  pollMs?: number;
  /** Relative paths of local sources resolve against it. */
  configDir?: string;
  /** Tests: a seeded random, and the sources' HTTP dependencies. */
  random?: () => number;
  buildSource?: (config: KnowledgeSourceConfig) => CatalogSource;
}

/**
 * The catalog's freshness in `gatehouse serve`: every poll, each configured source whose
 * lease has expired is refreshed, one at a time, in config order. The lease (the
 * `cluster_leases` row of adapters/node/cluster, on SQLite as on PostgreSQL) is what makes
 * one refresh per source per interval cluster-wide: taking it is a single conditional
 * upsert that exactly one instance wins, it is held while the refresh runs, and afterwards
 * its expiry is set to the source's next due time: the interval (jittered) after a success,
 * a doubling backoff after a failure. A restart therefore keeps the schedule instead of
 * refreshing everything at once.
 */
export class KnowledgeRefreshLoop {
  private readonly instanceId: string;
  private readonly random: () => number;
  private readonly failures = new Map<string, number>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** The last report per source, for tests and the startup summary. */
  readonly lastReports = new Map<string, SourceRefreshReport>();
  /** Sources pruned because the config no longer has them, in order. */
  readonly lastRemoved: RemovedSourceReport[] = [];

  constructor(private readonly options: KnowledgeRefreshLoopOptions) {
    this.instanceId = options.instanceId ?? `${hostname()}:${process.pid}`;
    this.random = options.random ?? Math.random;
  }

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.pollMs ?? KNOWLEDGE_POLL_MS);
    this.timer.unref();
  }

  /** Waits for the refresh in progress (a source is never cut half-written: the refresh writes in transactions). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One round; a call while a round runs joins it (two rounds would race for the same leases). */
  tick(): Promise<void> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(): Promise<void> {
    const knowledge = this.options.config.current().knowledge;
    // Refresh from the CLI only: the CLI's refresh prunes too.
    if (knowledge && !knowledge.refresh.enabled) return;
    await this.pruneRemoved(knowledge?.sources.map((source) => source.name) ?? []);
    if (!knowledge) return;
    for (const sourceConfig of knowledge.sources) {
      if (this.stopped) return;
      try {
        await this.refreshIfDue(sourceConfig, knowledge.refresh);
      } catch (err) {
        // The store itself failed (lease or status write): the next poll tries again.
        this.options.logger.warn({ source: sourceConfig.name, err: describeError(err) }, "knowledge refresh could not run; retrying at the next poll");
      }
    }
  }

  /** Sources no longer in the config lose their entities (before the refresh, so another source may take their refs over). */
  private async pruneRemoved(configured: readonly string[]): Promise<void> {
    try {
      for (const removed of await pruneRemovedSources(catalogStore(this.options.db), configured)) {
        this.lastRemoved.push(removed);
        this.options.logger.info({ source: removed.sourceId, removed: removed.removed }, "knowledge source no longer configured: its entities were removed");
      }
    } catch (err) {
      this.options.logger.warn({ err: describeError(err) }, "knowledge sources removed from the config could not be pruned; retrying at the next poll");
    }
  }

  private async refreshIfDue(sourceConfig: KnowledgeSourceConfig, refresh: KnowledgeRefreshConfig): Promise<void> {
    const { db, clock, logger } = this.options;
    const lease = knowledgeLeaseName(sourceConfig.name);
    if (!(await tryAcquireLease(db, lease, this.instanceId, clock.now(), KNOWLEDGE_RUN_LEASE_MS))) return;
    const source = this.options.buildSource ? this.options.buildSource(sourceConfig) : configuredSource(sourceConfig, this.options.secrets, this.options.configDir ? { configDir: this.options.configDir } : {});
    const [report] = await refreshCatalog(catalogStore(db), [source], clock);
    if (!report) return;
    this.lastReports.set(sourceConfig.name, report);
    const failures = report.status === "error" ? (this.failures.get(sourceConfig.name) ?? 0) + 1 : 0;
    this.failures.set(sourceConfig.name, failures);
    const delayMs = nextDelayMs(refresh, failures, this.random());
    await renewLease(db, lease, this.instanceId, clock.now() + delayMs);
    const fields = {
      source: sourceConfig.name,
      files: report.files,
      entities: report.entities,
      added: report.added,
      updated: report.updated,
      removed: report.removed,
      notModified: report.notModified,
      problems: report.problems.length,
      nextInS: Math.round(delayMs / 1000),
    };
    if (report.status === "ok") logger.info(fields, "knowledge source refreshed");
    // The error was redacted by the source (no token); it names the fix.
    else logger.warn({ ...fields, failures, error: report.error }, `knowledge source ${sourceConfig.name} failed; its entities are kept, retrying in ${Math.round(delayMs / 1000)} s`);
  }
}

/**
 * After a success, the interval stretched or shrunk by up to ±jitter; after `failures`
 * failures in a row, retryMinutes doubled each time up to maxRetryMinutes, jittered too.
 */
export function nextDelayMs(refresh: KnowledgeRefreshConfig, failures: number, random: number): number {
  const base = failures === 0 ? refresh.intervalMinutes : Math.min(refresh.maxRetryMinutes, refresh.retryMinutes * 2 ** (failures - 1));
  return Math.round(base * 60_000 * (1 + refresh.jitter * (2 * random - 1)));
}

/**
 * Records a refresh made outside the loop (`gatehouse knowledge refresh --source`, from cron
 * or CI) in the source's lease, so `gatehouse serve` does not refresh it again at once.
 */
export async function markRefreshed(db: Kysely<Database>, source: string, refresh: KnowledgeRefreshConfig, report: SourceRefreshReport, now: number, random = Math.random()): Promise<void> {
  await renewLease(db, knowledgeLeaseName(source), `cli:${hostname()}:${process.pid}`, now + nextDelayMs(refresh, report.status === "ok" ? 0 : 1, random));
}

/** Starts the loop for `gatehouse serve`; returns its stop function. */
export function startKnowledgeRefresh(options: KnowledgeRefreshLoopOptions): () => Promise<void> {
  const loop = new KnowledgeRefreshLoop(options);
  loop.start();
  return () => loop.stop();
}

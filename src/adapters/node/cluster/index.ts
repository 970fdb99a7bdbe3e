/** Many gateway instances on one PostgreSQL database (see docs/deploy.md). */
export { PostgresCounterStore, type PostgresCounterOptions } from "./pg-counters.ts";
export { PostgresRateLimiter, type SharedRateLimiterStore } from "./pg-rate-limiter.ts";
export { ClusterSync, type ClusterSyncOptions, CONFIG_SNAPSHOT, CATALOG_SNAPSHOT, CATALOG_LEASE } from "./sync.ts";
export { tryAcquireLease, renewLease, releaseLease } from "./lease.ts";
export { publishSnapshot, readSnapshot, snapshotHead, sha256Hex } from "./snapshots.ts";
export { startClusterSync, CLUSTER_POLL_MS } from "./start.ts";

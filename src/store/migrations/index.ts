import type { Kysely, Migration } from "kysely";
import * as ledger from "./001_ledger.ts";
import * as identity from "./002_identity.ts";
import * as mcp from "./003_mcp.ts";
import * as governance from "./004_governance.ts";
import * as cluster from "./005_cluster.ts";
import * as providerObjects from "./006_provider_objects.ts";
import * as ledgerEstimated from "./007_ledger_estimated.ts";
import * as knowledge from "./008_knowledge.ts";
import * as admin from "./009_admin.ts";
import * as knowledgeVersions from "./010_knowledge_versions.ts";
import * as jobs from "./011_jobs.ts";
import * as ledgerClient from "./012_ledger_client.ts";
import * as adminApi from "./013_admin_api.ts";
import * as requestLog from "./014_request_log.ts";
import * as overridesAlerts from "./015_overrides_alerts.ts";
import * as keyPools from "./016_key_pools.ts";
import * as crossProvider from "./017_cross_provider.ts";

/**
 * The one migration list, applied in key order on every dialect. Append; never edit a
 * migration that has shipped.
 */
export const migrations: Record<string, Migration> = {
  "001_ledger": { up: (db: Kysely<unknown>) => ledger.up(db) },
  "002_identity": { up: (db: Kysely<unknown>) => identity.up(db) },
  "003_mcp": { up: (db: Kysely<unknown>) => mcp.up(db) },
  "004_governance": { up: (db: Kysely<unknown>) => governance.up(db) },
  "005_cluster": { up: (db: Kysely<unknown>) => cluster.up(db) },
  "006_provider_objects": { up: (db: Kysely<unknown>) => providerObjects.up(db) },
  "007_ledger_estimated": { up: (db: Kysely<unknown>) => ledgerEstimated.up(db) },
  "008_knowledge": { up: (db: Kysely<unknown>) => knowledge.up(db) },
  "009_admin": { up: (db: Kysely<unknown>) => admin.up(db) },
  "010_knowledge_versions": { up: (db: Kysely<unknown>) => knowledgeVersions.up(db) },
  "011_jobs": { up: (db: Kysely<unknown>) => jobs.up(db) },
  "012_ledger_client": { up: (db: Kysely<unknown>) => ledgerClient.up(db) },
  "013_admin_api": { up: (db: Kysely<unknown>) => adminApi.up(db) },
  "014_request_log": { up: (db: Kysely<unknown>) => requestLog.up(db) },
  "015_overrides_alerts": { up: (db: Kysely<unknown>) => overridesAlerts.up(db) },
  "016_key_pools": { up: (db: Kysely<unknown>) => keyPools.up(db) },
  "017_cross_provider": { up: (db: Kysely<unknown>) => crossProvider.up(db) },
};

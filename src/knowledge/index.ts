import type { Kysely } from "kysely";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { createKnowledgeMcpServer } from "./mcp-server.ts";
import { CatalogQueries } from "./queries.ts";
import { CatalogStore, type CatalogStoreOptions } from "./store.ts";
import { knowledgeDb } from "./tables.ts";

export { refreshCatalog, type SourceRefreshReport } from "./refresh.ts";
export { pruneRemovedSources, AD_HOC_SOURCE_PREFIX, type RemovedSourceReport } from "./prune.ts";
export { validateEntity, EntityValidationError, refKey, type Entity } from "./entity.ts";
export { deriveRelations, type Relation } from "./relations.ts";
export { CatalogStore, type CatalogStoreOptions } from "./store.ts";
export { CatalogQueries } from "./queries.ts";
export { createKnowledgeMcpServer } from "./mcp-server.ts";
export type { CatalogSource, SourceSnapshot } from "./source.ts";
export type { DescriptorFile } from "./descriptors.ts";
export { knowledgeDb, type KnowledgeTables } from "./tables.ts";

export function catalogStore<DB>(db: Kysely<DB>, options?: CatalogStoreOptions): CatalogStore {
  return new CatalogStore(knowledgeDb(db), options);
}

export function catalogQueries<DB>(db: Kysely<DB>): CatalogQueries {
  return new CatalogQueries(knowledgeDb(db));
}

/** The knowledge server as the portal's built-in: a fresh in-process MCP session per upstream connection. */
export function knowledgeBuiltIn<DB>(db: Kysely<DB>): { description: string; connect(): Transport } {
  const queries = catalogQueries(db);
  return {
    description: "Service catalog: owners, dependencies and dependents, APIs with specs, teams, search.",
    connect() {
      const [client, server] = InMemoryTransport.createLinkedPair();
      void createKnowledgeMcpServer(queries).connect(server);
      return client;
    },
  };
}

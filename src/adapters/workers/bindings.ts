/**
 * The few Workers runtime types this adapter touches, declared here instead of pulling in
 * @cloudflare/workers-types (it would redefine Request/Response for the whole project).
 * Shapes follow the Workers runtime API documentation.
 */
export interface D1Meta {
  changes?: number;
  last_row_id?: number;
  duration?: number;
}

export interface D1Result<T = Record<string, unknown>> {
  results: T[];
  success: boolean;
  meta: D1Meta;
}

export interface D1PreparedStatement {
  bind(...values: unknown[]): D1PreparedStatement;
  all<T = Record<string, unknown>>(): Promise<D1Result<T>>;
  run<T = Record<string, unknown>>(): Promise<D1Result<T>>;
}

export interface D1Database {
  prepare(query: string): D1PreparedStatement;
  batch<T = Record<string, unknown>>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]>;
}

export interface KVNamespace {
  get(key: string, type: "text"): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

export type DurableObjectId = object;

export interface DurableObjectStub {
  fetch(input: string, init?: RequestInit): Promise<Response>;
}

export interface DurableObjectNamespace {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): DurableObjectStub;
}

/** Hono's declaration of the Workers ExecutionContext (waitUntil, passThroughOnException, props). */
export type { ExecutionContext } from "hono";

export interface ScheduledController {
  readonly scheduledTime: number;
  readonly cron: string;
}

export interface SqlStorageCursor<T> {
  toArray(): T[];
}

export interface SqlStorage {
  exec<T = Record<string, string | number | null>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T>;
}

export interface DurableObjectState {
  readonly storage: { readonly sql: SqlStorage };
  blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
}

/** Bindings and variables of the Gatehouse worker (see wrangler.jsonc). */
export interface WorkerEnv {
  /** The store: ledger, identities, migrations. */
  DB: D1Database;
  /** Catalog document and anonymous-id cache. */
  CACHE: KVNamespace;
  /** Exact budget and rate-limit counters. */
  COUNTERS: DurableObjectNamespace;
  /** Org config as JSON (the output of `gatehouse config build`), a plain var. */
  GATEHOUSE_ORG_CONFIG?: string;
  /** Every other GATEHOUSE_* setting and provider key (secrets) arrives as a string. */
  [name: string]: unknown;
}

import { GatewayError } from "../core/errors.ts";
import type { StreamOutcome } from "../store/index.ts";
import { isCalendarDay } from "./range.ts";
import { CLIENT_COLUMN, MAX_PAGE_SIZE, OUTCOMES, PAGE_SIZE, type PageKey, type RequestFilters } from "./request-log-queries.ts";

/** The query parameters of /dashboard/requests, in the order links write them. */
export const FILTER_PARAMS = ["from", "to", "caller", "service_account", "kind", "model", "provider", "client", "outcome", "status", "min_cost"] as const;
export type FilterParam = (typeof FILTER_PARAMS)[number];

export interface ParsedLogQuery {
  filters: RequestFilters;
  /** The filter values as given (trimmed, empty ones left out): what the form shows and links carry. */
  values: Partial<Record<FilterParam, string>>;
  after: PageKey | undefined;
  limit: number;
}

const DAY_MS = 86_400_000;
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?Z?$/;
/** Ids and names are short; a longer value is not one (and is not worth a query). */
const MAX_VALUE_LENGTH = 200;

function bad(field: string, message: string): GatewayError {
  return new GatewayError("bad_request", `"${field}" ${message}`);
}

/**
 * A time as the form sends it, UTC: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]`. A date as `to`
 * means through the end of that day (the bound is exclusive: the next day's start).
 */
function parseTime(field: "from" | "to", value: string): number {
  if (isCalendarDay(value)) return Date.parse(`${value}T00:00:00Z`) + (field === "to" ? DAY_MS : 0);
  const m = DATE_TIME.exec(value);
  if (m && isCalendarDay(m[1] ?? "") && Number(m[2]) < 24 && Number(m[3]) < 60 && Number(m[4] ?? 0) < 60) return Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4] ?? "00"}Z`);
  throw bad(field, `must be a UTC date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM), got "${value}".`);
}

function parseStatus(value: string): { min: number; max: number } {
  const klass = /^([1-5])xx$/i.exec(value);
  if (klass) return { min: Number(klass[1]) * 100, max: Number(klass[1]) * 100 + 99 };
  if (/^\d{1,3}$/.test(value)) return { min: Number(value), max: Number(value) };
  throw bad("status", `must be a status (429), a class (4xx), or 0 for none sent; got "${value}".`);
}

/** The page key as links carry it: `<ts>.<request id>`. */
export function formatPageKey(key: PageKey): string {
  return `${key.ts}.${key.requestId}`;
}

function parsePageKey(value: string): PageKey {
  const m = /^(\d{1,16})\.(.{1,200})$/s.exec(value);
  if (!m) throw bad("after", "is not a page key this log made; start again from the first page.");
  return { ts: Number(m[1]), requestId: m[2] ?? "" };
}

/** Reads the request log's query string; a bad value is a 400 naming the field and what it takes. */
export function parseLogQuery(query: (name: string) => string | undefined): ParsedLogQuery {
  const values: Partial<Record<FilterParam, string>> = {};
  for (const name of FILTER_PARAMS) {
    const raw = query(name)?.trim();
    if (!raw) continue;
    if (raw.length > MAX_VALUE_LENGTH) throw bad(name, `is longer than ${MAX_VALUE_LENGTH} characters.`);
    values[name] = raw;
  }
  const filters: RequestFilters = {};
  if (values.from) filters.since = parseTime("from", values.from);
  if (values.to) filters.until = parseTime("to", values.to);
  if (filters.since !== undefined && filters.until !== undefined && filters.since >= filters.until) throw bad("from", `(${values.from}) is not before "to" (${values.to}).`);
  filters.caller = values.caller;
  filters.serviceAccount = values.service_account;
  if (values.kind) {
    if (values.kind !== "person" && values.kind !== "service") throw bad("kind", `must be "person" or "service", got "${values.kind}".`);
    filters.callerKind = values.kind;
  }
  filters.model = values.model;
  filters.provider = values.provider;
  if (values.client) {
    if (CLIENT_COLUMN === undefined) throw bad("client", "cannot be filtered yet: this gateway's ledger has no client column.");
    filters.client = values.client;
  }
  if (values.outcome) {
    if (!(OUTCOMES as readonly string[]).includes(values.outcome)) throw bad("outcome", `must be one of ${OUTCOMES.join(", ")}; got "${values.outcome}".`);
    filters.outcome = values.outcome as StreamOutcome;
  }
  if (values.status) filters.status = parseStatus(values.status);
  if (values.min_cost) {
    const cost = Number(values.min_cost);
    if (!/^\d+(\.\d+)?$/.test(values.min_cost) || !Number.isFinite(cost)) throw bad("min_cost", `must be a non-negative amount in USD (0.05), got "${values.min_cost}".`);
    filters.minCostUsd = cost;
  }
  const afterRaw = query("after");
  const after = afterRaw ? parsePageKey(afterRaw) : undefined;
  const limitRaw = query("limit");
  let limit = PAGE_SIZE;
  if (limitRaw) {
    if (!/^\d{1,4}$/.test(limitRaw) || Number(limitRaw) < 1 || Number(limitRaw) > MAX_PAGE_SIZE) throw bad("limit", `must be a whole number from 1 to ${MAX_PAGE_SIZE}.`);
    limit = Number(limitRaw);
  }
  return { filters, values, after, limit };
}

/** The query string of a log link: the filters, then the page. */
export function logQueryString(values: Partial<Record<FilterParam, string>>, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const name of FILTER_PARAMS) {
    const v = values[name];
    if (v) params.set(name, v);
  }
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : "";
}

import { sql, type Kysely } from "kysely";
import type { Database } from "../store/index.ts";
import { sums, toTotals, type Aggregate } from "./queries.ts";
import type { DayRange } from "./range.ts";

export interface ServiceAccountSpend extends Aggregate {
  /** The service account's name; `key` is its id (the ledger's caller id). */
  name: string;
}

export interface Spenders {
  /** People, by anonymous id. */
  people: Aggregate[];
  serviceAccounts: ServiceAccountSpend[];
}

/**
 * The top spenders of the range, people apart from service accounts: a caller id that is a
 * service account's id (`service_accounts`) is a machine, every other one a person.
 */
export async function spendersByKind(db: Kysely<Database>, range: DayRange, limit: number): Promise<Spenders> {
  const top = (service: boolean) =>
    db
      .selectFrom("ledger")
      .leftJoin("service_accounts as sa", "sa.id", "ledger.caller_id")
      .select([...sums, "ledger.caller_id as key", "sa.name as name"])
      .where("ledger.day", ">=", range.from)
      .where("ledger.day", "<=", range.to)
      .where("sa.id", service ? "is not" : "is", null)
      .groupBy(["ledger.caller_id", "sa.name"])
      .orderBy(sql`sum(cost_usd)`, "desc")
      .orderBy(sql`count(*)`, "desc")
      .limit(limit)
      .execute();
  const [people, machines] = await Promise.all([top(false), top(true)]);
  return {
    people: people.map((r) => ({ key: r.key, ...toTotals(r) })),
    serviceAccounts: machines.map((r) => ({ key: r.key, name: r.name ?? r.key, ...toTotals(r) })),
  };
}

/** Names of the service accounts among these caller ids. */
export async function serviceAccountNames(db: Kysely<Database>, callerIds: readonly string[]): Promise<Map<string, string>> {
  if (callerIds.length === 0) return new Map();
  const rows = await db
    .selectFrom("service_accounts")
    .select(["id", "name"])
    .where("id", "in", [...callerIds])
    .execute();
  return new Map(rows.map((r) => [r.id, r.name]));
}

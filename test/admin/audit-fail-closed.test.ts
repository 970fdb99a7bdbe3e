import { sql, type Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { systemClock } from "../../src/core/clock.ts";
import { AdminService, type AdminContext } from "../../src/identity/index.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";

/**
 * No audit row, no action: when the store does not take the `started` row, the service layer
 * refuses before it changes anything (real SQLite; the table is taken away under it).
 */
const ctx: AdminContext = { actor: { kind: "cli", id: "ops", name: "cli:ops" }, via: "cli" };
let db: Kysely<Database>;

beforeEach(async () => {
  db = openSqlite(":memory:");
  await migrateToLatest(db);
});
afterEach(() => db.destroy());

describe("the admin audit log fails closed", () => {
  it("an action whose audit row cannot be written does not run", async () => {
    const service = new AdminService(db, systemClock);
    const { key } = await service.createServiceAccount(ctx, { name: "ci", ownerGroup: "eng", scopes: { routes: ["openai"] } });
    await sql`drop table admin_audit`.execute(db);
    await expect(service.createServiceAccount(ctx, { name: "second", ownerGroup: "eng", scopes: { routes: ["openai"] } })).rejects.toThrow(/admin_audit/);
    await expect(service.revokeKey(ctx, "ci", key.record.id, "x")).rejects.toThrow(/admin_audit/);
    await expect(service.revoke(ctx, "email", "alice@example.com", "x")).rejects.toThrow(/admin_audit/);
    await expect(service.disableServiceAccount(ctx, "ci", "x")).rejects.toThrow(/admin_audit/);
    expect(await db.selectFrom("service_accounts").select(["name", "disabled_at"]).execute()).toEqual([{ name: "ci", disabled_at: null }]);
    expect(await db.selectFrom("service_account_keys").select("revoked_at").execute()).toEqual([{ revoked_at: null }]);
    expect(await db.selectFrom("identity_revocations").selectAll().execute()).toEqual([]);
  });

  it("a failed action is settled as failed with its code, and the CLI's actor and host are kept", async () => {
    const service = new AdminService(db, systemClock);
    await expect(service.addKey(ctx, "nobody")).rejects.toThrow(/No service account named nobody/);
    const [entry] = await service.audit.list();
    expect(entry).toMatchObject({ action: "key.create", target: "service-account:nobody", outcome: "failed", via: "cli", actor: { kind: "cli", name: "cli:ops" }, detail: { error: "not_found" } });
  });
});

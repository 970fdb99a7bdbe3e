import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { GatewayError } from "../../src/core/errors.ts";
import type { Logger } from "../../src/core/logger.ts";
import { migrateToLatest } from "../../src/store/index.ts";
import { AnonymousIds } from "../../src/identity/anonymous-ids.ts";

const clock = { now: () => Date.now(), monotonic: () => performance.now() };

describe("anonymous ids while the store is down", () => {
  it("refuses a new caller with a 503 and retry-after, logs once, and keeps serving callers it knows", async () => {
    const db = openSqlite(join(mkdtempSync(join(tmpdir(), "gatehouse-ids-")), "gatehouse.db"));
    await migrateToLatest(db);
    const lines: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn: (_f, m) => void lines.push(m), error: (_f, m) => void lines.push(m) };
    const ids = new AnonymousIds(db, clock, 100, undefined, logger);
    const known = await ids.idFor("known@example.com");
    // The store goes away (a closed connection fails every query, as a dead disk or server would).
    await db.destroy();

    const errors: unknown[] = [];
    for (let i = 0; i < 200; i++) await ids.idFor(`new${i}@example.com`).catch((err: unknown) => errors.push(err));
    expect(errors).toHaveLength(200);
    for (const err of errors) {
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).status).toBe(503);
      expect((err as GatewayError).code).toBe("store_unavailable");
      expect((err as GatewayError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
    // One line, not one per request.
    expect(lines).toHaveLength(1);
    expect(await ids.idFor("KNOWN@example.com")).toBe(known);
  });
});

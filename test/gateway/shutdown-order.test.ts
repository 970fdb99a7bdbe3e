import { afterEach, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:net";
import BetterSqlite3 from "better-sqlite3";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/core/logger.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { startGateway } from "../../src/adapters/node/server.ts";
import { DisposerStack, type Disposer } from "../../src/gateway/index.ts";
import { CLIENT_TOKEN, startHarness, type Harness } from "./harness.ts";

/**
 * The one disposer stack of `startGateway`: what a shutdown closes, in which order, and that
 * one failing step does not skip the others; and that a failed start closes what it opened.
 */

/** The shutdown order as it is and must stay (docs/architecture.md, "One composition"). */
const SHUTDOWN_ORDER = ["stop accepting and drain", "body capture retention", "knowledge refresh", "config watch", "mcp", "sandbox", "body capture", "governance", "alerts", "ledger", "ledger writer thread", "reader thread", "store"];

/** A stack that records each step it runs and can make one step fail after doing its work. */
class RecordingStack extends DisposerStack {
  readonly ran: string[] = [];
  constructor(private readonly failing?: string) {
    super(silentLogger);
  }
  override push(name: string, dispose: Disposer): void {
    super.push(name, async () => {
      this.ran.push(name);
      await dispose();
      if (name === this.failing) throw new Error(`${name} failed to close`);
    });
  }
}

let harness: Harness | undefined;
let blocker: Server | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
  blocker = undefined;
});

describe("startGateway's disposer stack", { timeout: 60_000 }, () => {
  it("closes in the order: stop accepting → drain → knowledge refresh → config watch → MCP → sandbox → governance → alerts → ledger → writer threads → store", async () => {
    const stack = new RecordingStack();
    harness = await startHarness({ disposers: stack });
    expect(harness.gateway.disposers.order()).toEqual(SHUTDOWN_ORDER);
    const report = await harness.gateway.close();
    expect(stack.ran).toEqual(SHUTDOWN_ORDER);
    expect(report).toMatchObject({ lost: 0, spooled: 0, cutConnections: 0 });
    // Idempotent: a second close (a second SIGTERM) runs nothing again.
    await harness.gateway.close();
    expect(stack.ran).toEqual(SHUTDOWN_ORDER);
  });

  it("a failing step (the MCP portal) is logged and skipped over: the ledger is still written and the store closed", async () => {
    const stack = new RecordingStack("mcp");
    harness = await startHarness({ disposers: stack });
    harness.fake.enqueue({ usage: { input: 7, output: 2 } });
    const res = await fetch(`${harness.gateway.url}/openai/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${CLIENT_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "before shutdown" }] }),
    });
    expect(res.status).toBe(200);
    const requestId = res.headers.get("x-gatehouse-request-id");
    await res.text();
    const report = await harness.gateway.close();
    expect(stack.ran).toEqual(SHUTDOWN_ORDER);
    expect(report.lost).toBe(0);
    // The store was closed: a query through the gateway's connection fails.
    await expect(harness.gateway.deps.db.selectFrom("ledger").select("request_id").execute()).rejects.toThrow();
    // And the row is in the file, read by a connection of our own.
    const file = new BetterSqlite3(join(harness.dir, "data", "gatehouse.db"), { readonly: true });
    try {
      const row = file.prepare("select input_tokens from ledger where request_id = ?").get(requestId ?? "") as { input_tokens: number } | undefined;
      expect(row?.input_tokens).toBe(7);
    } finally {
      file.close();
    }
  });

  it("a start that fails (the port is taken) closes everything it opened, in the same order", async () => {
    blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker?.listen(0, "127.0.0.1", () => resolve((blocker?.address() as { port: number }).port)));
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-failed-start-"));
    writeFileSync(join(dir, "gatehouse.yaml"), "providers:\n  openai: {}\n");
    const env = { OPENAI_API_KEY: "sk-unused", GATEHOUSE_DEV_TOKEN: CLIENT_TOKEN };
    const settings = parseSettings(env, { configDir: dir, dataDir: join(dir, "data"), port });
    const stack = new RecordingStack();
    try {
      await expect(startGateway({ settings, env, logger: silentLogger, offline: true, disposers: stack })).rejects.toThrow(/Cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(stack.disposed).toBe(true);
    // Everything but the listener, which never opened.
    expect(stack.ran).toEqual(SHUTDOWN_ORDER.filter((step) => step !== "stop accepting and drain"));
  });
});

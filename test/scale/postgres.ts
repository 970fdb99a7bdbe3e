import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);
const script = new URL("../../.ci/postgres.sh", import.meta.url).pathname;

/** A PostgreSQL database for one test file: `url` points at a fresh, empty database. */
export interface TestDatabase {
  url: string;
  /** Drops the database; stops the cluster when this file started it. */
  close(): Promise<void>;
}

/**
 * GATEHOUSE_TEST_DATABASE_URL (a server someone already runs, e.g. `.ci/postgres.sh`) is used
 * when set; otherwise a private cluster is initialised in a temp dir and started on a free
 * loopback port as the `postgres` user (the Debian `postgresql` package must be installed).
 * Either way each test file gets its own database, so files never see each other's rows.
 */
export async function startTestDatabase(): Promise<TestDatabase> {
  const shared = process.env["GATEHOUSE_TEST_DATABASE_URL"];
  let serverUrl: string;
  let stopCluster = async (): Promise<void> => undefined;
  if (shared) serverUrl = shared;
  else {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-pg-"));
    chmodSync(dir, 0o755);
    const data = join(dir, "data");
    serverUrl = await startCluster(data);
    stopCluster = async () => {
      await run("bash", [script, "stop", data], { timeout: 60_000 });
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const name = `gatehouse_test_${process.pid}_${Date.now().toString(36)}`;
  await admin(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async close() {
      try {
        await admin(serverUrl, `drop database if exists ${name} with (force)`);
      } finally {
        await stopCluster();
      }
    },
  };
}

async function admin(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * Starts the cluster on a free port. The port is free when picked but bound only seconds later
 * (after initdb), and parallel test files open sockets all the while: if one took the port
 * meanwhile, PostgreSQL cannot bind it, and a fresh port is picked (initdb is not repeated).
 */
async function startCluster(data: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      const { stdout } = await run("bash", [script, "start", data, String(port)], { timeout: 90_000 });
      return stdout.trim().split("\n").pop() ?? "";
    } catch (err) {
      const stderr = typeof err === "object" && err !== null && "stderr" in err ? String(err.stderr) : "";
      if (attempt >= 5 || !/could not bind|Address already in use/i.test(stderr)) throw err;
    }
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A private cluster the test can stop and start again (a PostgreSQL restart, an outage). */
export interface RestartableCluster extends TestDatabase {
  /** `pg_ctl stop -m fast`: every session gets 57P01 (admin shutdown), new connections are refused. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
}

/**
 * Always a private cluster (never GATEHOUSE_TEST_DATABASE_URL: the test restarts it), with one
 * database for the test file.
 */
export async function startRestartableCluster(): Promise<RestartableCluster> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-pg-"));
  chmodSync(dir, 0o755);
  const data = join(dir, "data");
  const serverUrl = await startCluster(data);
  const port = new URL(serverUrl).port;
  const name = `gatehouse_test_${process.pid}_${Date.now().toString(36)}`;
  await admin(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    stop: async () => {
      await run("bash", [script, "stop", data], { timeout: 60_000 });
    },
    start: async () => {
      await run("bash", [script, "start", data, port], { timeout: 90_000 });
    },
    async close() {
      await run("bash", [script, "stop", data], { timeout: 60_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

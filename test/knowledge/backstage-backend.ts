import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A real Backstage catalog backend from npm (tools/backstage: @backstage/backend-defaults
 * 0.19.0 + @backstage/plugin-catalog-backend 4.0.5, SQLite in memory), started as a child
 * process on a loopback port, with a static external-access token and file locations.
 */
export interface BackstageBackend {
  url: string;
  token: string;
  /** Asks the catalog to reprocess an entity now (POST /api/catalog/refresh), instead of waiting for its loop. */
  refresh(entityRef: string): Promise<void>;
  /** Resolves once `check` holds on the entities the catalog serves (processing is asynchronous). */
  waitFor(check: (entities: Array<{ kind: string; metadata: { name: string; description?: string } }>) => boolean, what: string): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

const TOOL_DIR = fileURLToPath(new URL("../../tools/backstage/", import.meta.url));

export function backstageInstalled(): boolean {
  return existsSync(join(TOOL_DIR, "node_modules/@backstage/plugin-catalog-backend/package.json"));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startBackstage(locations: readonly string[], options: { token: string; timeoutMs?: number }): Promise<BackstageBackend> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-backstage-"));
  const config = join(dir, "app-config.yaml");
  writeFileSync(
    config,
    [
      "backend:",
      `  baseUrl: ${url}`,
      "  listen:",
      "    host: 127.0.0.1",
      `    port: ${port}`,
      "  database:",
      "    client: better-sqlite3",
      "    connection: ':memory:'",
      "  auth:",
      "    externalAccess:",
      "      - type: static",
      "        options:",
      `          token: ${options.token}`,
      "          subject: gatehouse-knowledge-test",
      "catalog:",
      "  rules:",
      "    - allow: [Component, System, API, Resource, Location, Group, User, Domain]",
      "  locations:",
      ...locations.flatMap((target) => ["    - type: file", `      target: ${target}`]),
      "",
    ].join("\n"),
  );
  let out = "";
  const child: ChildProcess = spawn(process.execPath, ["start-catalog.mjs", "--config", config], { cwd: TOOL_DIR, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_ENV: "development" } });
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  await new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (out.includes("BACKSTAGE READY")) {
        clearInterval(check);
        resolve();
      } else if (child.exitCode !== null || Date.now() > deadline) {
        clearInterval(check);
        child.kill("SIGKILL");
        reject(new Error(`Backstage did not start (exit ${child.exitCode}):\n${out.slice(-3000)}`));
      }
    }, 100);
  });
  const auth = { authorization: `Bearer ${options.token}` };
  const backend: BackstageBackend = {
    url,
    token: options.token,
    async refresh(entityRef) {
      const response = await fetch(`${url}/api/catalog/refresh`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ entityRef }) });
      if (!response.ok) throw new Error(`refresh ${entityRef}: HTTP ${response.status} ${await response.text()}`);
    },
    async waitFor(check, what) {
      const until = Date.now() + 90_000;
      for (;;) {
        const response = await fetch(`${url}/api/catalog/entities/by-query?limit=1000`, { headers: auth });
        const body = (await response.json()) as { items?: Array<{ kind: string; metadata: { name: string; description?: string } }> };
        if (response.ok && check(body.items ?? [])) return;
        if (Date.now() > until) throw new Error(`Backstage never showed ${what}:\n${out.slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    output: () => out,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return backend;
}

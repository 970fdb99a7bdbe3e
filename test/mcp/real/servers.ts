import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The real MCP servers from npm (@modelcontextprotocol/server-everything, server-filesystem,
 * server-memory). They are devDependencies of the root package; GATEHOUSE_MCP_SERVERS_DIR
 * may point at another node_modules that holds them (a checkout installed before they were added).
 */
const root = fileURLToPath(new URL("../../../", import.meta.url));
const candidates = [join(root, "node_modules"), ...(process.env["GATEHOUSE_MCP_SERVERS_DIR"] ? [process.env["GATEHOUSE_MCP_SERVERS_DIR"]] : [])];

export type RealServer = "server-everything" | "server-filesystem" | "server-memory";

export function realServerEntry(name: RealServer): string | undefined {
  for (const dir of candidates) {
    const entry = join(dir, "@modelcontextprotocol", name, "dist", "index.js");
    if (existsSync(entry)) return entry;
  }
  return undefined;
}

export const realServersAvailable = (["server-everything", "server-filesystem", "server-memory"] as const).every((name) => realServerEntry(name) !== undefined);

if (!realServersAvailable) {
  console.warn("test/mcp/real: @modelcontextprotocol/server-everything, server-filesystem and server-memory are not installed; these tests are skipped.");
}

export function requireEntry(name: RealServer): string {
  const entry = realServerEntry(name);
  if (!entry) throw new Error(`@modelcontextprotocol/${name} is not installed (npm install, or set GATEHOUSE_MCP_SERVERS_DIR).`);
  return entry;
}

/** Preloaded into HTTP servers so they listen on 127.0.0.1 only (server-everything listens on every interface). */
const LOOPBACK_ONLY = fileURLToPath(new URL("./loopback-only.mjs", import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * server-everything over Streamable HTTP in its own process, on a fixed loopback port, so a
 * test can kill it and start it again at the same URL (an upstream restart).
 */
export class EverythingHttp {
  private child: ChildProcess | undefined;
  starts = 0;

  private constructor(readonly port: number) {}

  static async start(): Promise<EverythingHttp> {
    const server = new EverythingHttp(await freePort());
    await server.restartProcess();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/mcp`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Start (or start again) and wait until it says it listens. */
  async restartProcess(): Promise<void> {
    await this.stop();
    const child = spawn(process.execPath, ["--import", LOOPBACK_ONLY, requireEntry("server-everything"), "streamableHttp"], {
      env: { PATH: process.env["PATH"] ?? "", PORT: String(this.port) },
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.child = child;
    this.starts += 1;
    await new Promise<void>((resolve, reject) => {
      let seen = "";
      const onData = (chunk: Buffer): void => {
        seen += chunk.toString("utf8");
        if (seen.includes("listening on port")) {
          child.stderr?.off("data", onData);
          child.stderr?.resume();
          resolve();
        }
      };
      child.stderr?.on("data", onData);
      child.once("exit", (code) => reject(new Error(`server-everything exited with ${code} before listening: ${seen.slice(0, 500)}`)));
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  }
}

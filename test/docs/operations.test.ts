// The deployment examples in docs/operations.md: the systemd unit (systemd-analyze verify
// when systemd is installed, and a section-by-section parse), the environment file (parsed
// by Gatehouse's own settings schema) and the nginx and Caddy files (structural parse: nginx
// and Caddy are not installed here). Each check is about what breaks streaming or security.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSettings, settingsEnvNames, settingsSchema } from "../../src/core/settings.ts";
import { providers } from "../../src/providers/registry.ts";
import { bytes, find, parseCaddyfile, parseEnvFile, parseNginx, parseUnit, seconds, walk, type Directive } from "./config-parsers.ts";
import { codeBlocks, docPages } from "./markdown.ts";

const page = docPages().find((p) => p.path === "docs/operations.md");
if (!page) throw new Error("docs/operations.md is missing");
const blocks = codeBlocks(page);

/** The example whose first line is the comment `# <path>`. */
function example(path: string): string {
  const block = blocks.find((b) => b.code.split("\n")[0]?.startsWith(`# ${path}`));
  if (!block) throw new Error(`docs/operations.md has no example starting with "# ${path}"`);
  return block.code;
}

const defaults = settingsSchema.parse({});
const unitText = example("/etc/systemd/system/gatehouse.service");
const envText = example("/etc/gatehouse/gatehouse.env");
const env = parseEnvFile(envText);
const gatewayPort = Number(env.get("GATEHOUSE_PORT") ?? defaults.port);
const upstreamHeaderSeconds = defaults.upstreamHeaderTimeoutMs / 1000;

const nginxDirectives = new Set([
  "upstream",
  "server",
  "keepalive",
  "listen",
  "http2",
  "server_name",
  "ssl_certificate",
  "ssl_certificate_key",
  "client_max_body_size",
  "location",
  "proxy_pass",
  "proxy_http_version",
  "proxy_set_header",
  "proxy_buffering",
  "proxy_cache",
  "proxy_request_buffering",
  "gzip",
  "proxy_connect_timeout",
  "proxy_read_timeout",
  "proxy_send_timeout",
  "return",
  "add_header",
  "access_log",
  "error_log",
  "include",
  "ssl_protocols",
]);
const caddyDirectives = new Set(["request_body", "max_size", "reverse_proxy", "flush_interval", "transport", "dial_timeout", "response_header_timeout", "read_timeout", "write_timeout", "header_up", "tls", "log"]);

function systemdAnalyze(dir: string, file: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile("systemd-analyze", ["verify", file], { cwd: dir, timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stderr });
    });
  });
}
const hasSystemdAnalyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].some((p) => existsSync(p));

/** A real nginx / caddy when one is installed or unpacked (tools/docs/proxy-binaries.sh); else only the structural checks run. */
function binary(override: string | undefined, paths: readonly string[]): string | undefined {
  return [override, ...paths].find((p): p is string => p !== undefined && p !== "" && existsSync(p));
}
const nginxBin = binary(process.env["GATEHOUSE_TEST_NGINX"], ["/usr/sbin/nginx"]);
const caddyBin = binary(process.env["GATEHOUSE_TEST_CADDY"], ["/usr/bin/caddy"]);

function run(file: string, args: readonly string[], envVars: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000, env: { ...process.env, ...envVars } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, output: `${stdout}${stderr}` });
    });
  });
}

describe("docs/operations.md: systemd unit", () => {
  const unit = parseUnit(unitText);
  const service = unit.get("Service") ?? [];
  const value = (key: string) => service.filter((e) => e.key === key).map((e) => e.value);

  it("has the three sections and runs `gatehouse serve` as an unprivileged user", () => {
    expect([...unit.keys()]).toEqual(["Unit", "Service", "Install"]);
    expect(value("ExecStart")).toEqual([expect.stringMatching(/^\/usr\/bin\/node \/opt\/gatehouse\/bin\/gatehouse\.js serve --config \S+$/)]);
    expect(value("User")).toEqual(["gatehouse"]);
    expect(value("NoNewPrivileges")).toEqual(["yes"]);
    expect(value("ProtectSystem")).toEqual(["strict"]);
  });

  it("stops with SIGTERM and waits longer than Gatehouse waits for an upstream", () => {
    expect(value("KillSignal")).toEqual(["SIGTERM"]);
    expect(Number(value("TimeoutStopSec")[0])).toBeGreaterThan(upstreamHeaderSeconds);
    expect(value("Restart")).toEqual(["on-failure"]);
  });

  it("reads the environment file shown on the page and hands the keys over as a credential", () => {
    expect(value("EnvironmentFile")).toEqual(["/etc/gatehouse/gatehouse.env"]);
    expect(value("LoadCredential")).toEqual(["secrets.json:/etc/gatehouse/secrets.json"]);
    expect(value("Environment")).toContain(`${settingsEnvNames.secretsFile}=%d/secrets.json`);
    expect(value("Environment")).toContain(`${settingsEnvNames.dataDir}=/var/lib/gatehouse`);
    expect(value("StateDirectory")).toEqual(["gatehouse"]);
  });

  it.skipIf(!hasSystemdAnalyze)("systemd-analyze verify accepts it without a warning, and warns on a broken copy", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-unit-"));
    try {
      // Node may live elsewhere on the test machine; verify checks that ExecStart is executable.
      writeFileSync(join(dir, "gatehouse.service"), unitText.replace("/usr/bin/node ", `${process.execPath} `));
      const good = await systemdAnalyze(dir, "./gatehouse.service");
      expect(good.stderr.split("\n").filter((l) => l.includes("gatehouse.service"))).toEqual([]);
      expect(good.code).toBe(0);
      writeFileSync(join(dir, "broken.service"), unitText.replace("/usr/bin/node ", `${process.execPath} `).replace("TimeoutStopSec=", "TimeoutStopSecs=").replace("KillSignal=SIGTERM", "KillSignal=SIGTERMINATE"));
      const broken = await systemdAnalyze(dir, "./broken.service");
      expect(broken.stderr).toContain("Unknown key 'TimeoutStopSecs'");
      expect(broken.stderr).toContain("Failed to parse signal name");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("docs/operations.md: environment file", () => {
  const known = new Set([...Object.values(settingsEnvNames), ...providers.map((p) => p.defaultApiKeyEnv)]);

  it("uses only variables Gatehouse reads, with values its settings schema accepts", () => {
    expect([...env.keys()].filter((k) => !known.has(k))).toEqual([]);
    const settings = parseSettings(Object.fromEntries(env));
    expect(settings.host).toBe("127.0.0.1");
    expect(settings.publicUrl).toMatch(/^https:\/\//);
  });

  it("never runs dev auth behind the proxy (loopback is public once a proxy forwards to it)", () => {
    expect(parseSettings(Object.fromEntries(env)).authMode).not.toBe("dev");
  });

  it("keeps provider keys out of the environment file", () => {
    for (const p of providers) expect(env.has(p.defaultApiKeyEnv), p.defaultApiKeyEnv).toBe(false);
  });
});

describe("docs/operations.md: nginx", () => {
  const conf = parseNginx(example("/etc/nginx/conf.d/gatehouse.conf"));
  const servers = find(conf, "server");
  const tls = servers.find((s) => find(s.block, "listen").some((l) => l.args.includes("ssl")));
  const location = find(tls?.block, "location").find((l) => l.args[0] === "/");
  const one = (name: string): string[] => {
    const found = find(location?.block, name);
    expect(found, name).toHaveLength(1);
    return found[0]?.args ?? [];
  };

  it("parses, with only known directives", () => {
    const unknown: string[] = [];
    walk(conf, (d) => {
      if (!nginxDirectives.has(d.name)) unknown.push(`${d.name} (line ${d.line})`);
    });
    expect(unknown).toEqual([]);
    expect(location).toBeDefined();
  });

  it("proxies to the port the environment file sets, over HTTP/1.1 keep-alive", () => {
    const target = one("proxy_pass")[0] ?? "";
    const upstreamName = /^http:\/\/([\w.-]+)$/.exec(target)?.[1];
    const upstream = find(conf, "upstream").find((u) => u.args[0] === upstreamName);
    expect(find(upstream?.block, "server").map((s) => s.args[0])).toEqual([`127.0.0.1:${gatewayPort}`]);
    expect(one("proxy_http_version")).toEqual(["1.1"]);
    expect(find(location?.block, "proxy_set_header").map((h) => h.args)).toContainEqual(["Connection", ""]);
  });

  it("streams: no response buffering, no cache, no gzip", () => {
    expect(one("proxy_buffering")).toEqual(["off"]);
    expect(one("proxy_cache")).toEqual(["off"]);
    expect(one("gzip")).toEqual(["off"]);
  });

  it("waits longer between two reads than Gatehouse waits for an upstream, and takes Gatehouse's largest body", () => {
    expect(seconds(one("proxy_read_timeout")[0] ?? "")).toBeGreaterThan(upstreamHeaderSeconds);
    expect(seconds(one("proxy_send_timeout")[0] ?? "")).toBeGreaterThan(upstreamHeaderSeconds);
    const body = find(tls?.block, "client_max_body_size")[0]?.args[0] ?? "0";
    expect(bytes(body)).toBeGreaterThanOrEqual(defaults.maxRequestBodyBytes);
  });

  it.skipIf(nginxBin === undefined)("nginx -t accepts it (inside a minimal nginx.conf, with a throwaway certificate)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-nginx-"));
    try {
      const cert = await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=gatehouse.example.com"]);
      expect(cert.code, cert.output).toBe(0);
      const site = example("/etc/nginx/conf.d/gatehouse.conf")
        .replace(/\/etc\/letsencrypt\/live\/[^/]+\/fullchain\.pem/, join(dir, "cert.pem"))
        .replace(/\/etc\/letsencrypt\/live\/[^/]+\/privkey\.pem/, join(dir, "key.pem"));
      writeFileSync(join(dir, "gatehouse.conf"), site);
      const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${join(dir, t)};`).join(" ");
      writeFileSync(join(dir, "nginx.conf"), `pid ${join(dir, "nginx.pid")};\nerror_log stderr;\nevents {}\nhttp {\n  access_log off;\n  ${temp}\n  include ${join(dir, "gatehouse.conf")};\n}\n`);
      const result = await run(nginxBin ?? "nginx", ["-t", "-p", dir, "-c", join(dir, "nginx.conf")]);
      expect(result.output).toContain("test is successful");
      expect(result.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the parser rejects broken files", () => {
    expect(() => parseNginx("server { listen 80 }")).toThrow(/before ";"/);
    expect(() => parseNginx("server { listen 80;")).toThrow(/never closed/);
    expect(() => parseNginx("location / { proxy_buffering off; } }")).toThrow(/unexpected "}"/);
  });
});

describe("docs/operations.md: Caddy", () => {
  const conf = parseCaddyfile(example("/etc/caddy/Caddyfile"));
  const site = conf[0];
  const proxy = find(site?.block, "reverse_proxy")[0];
  const transport = find(proxy?.block, "transport").find((t) => t.args[0] === "http");
  const arg = (d: Directive | undefined) => d?.args[0] ?? "";

  it("parses, one site block with only known directives", () => {
    expect(conf.map((d) => d.name)).toEqual(["gatehouse.example.com"]);
    const unknown: string[] = [];
    walk(site?.block ?? [], (d) => {
      if (!caddyDirectives.has(d.name)) unknown.push(`${d.name} (line ${d.line})`);
    });
    expect(unknown).toEqual([]);
  });

  it("proxies to the port the environment file sets and flushes every write", () => {
    expect(proxy?.args).toEqual([`127.0.0.1:${gatewayPort}`]);
    expect(find(proxy?.block, "flush_interval").map((d) => d.args)).toEqual([["-1"]]);
    const encodes: Directive[] = [];
    walk(conf, (d) => {
      if (d.name === "encode") encodes.push(d);
    });
    expect(encodes).toEqual([]);
  });

  it("waits longer than Gatehouse for headers and reads, and takes Gatehouse's largest body", () => {
    expect(seconds(arg(find(transport?.block, "response_header_timeout")[0]))).toBeGreaterThan(upstreamHeaderSeconds);
    for (const name of ["read_timeout", "write_timeout"]) {
      const d = find(transport?.block, name)[0];
      if (d) expect(seconds(arg(d)), name).toBeGreaterThan(upstreamHeaderSeconds);
    }
    const size = arg(find(find(site?.block, "request_body")[0]?.block, "max_size")[0]);
    expect(bytes(size)).toBeGreaterThanOrEqual(defaults.maxRequestBodyBytes);
  });

  it.skipIf(caddyBin === undefined)("caddy validate accepts it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-caddy-"));
    try {
      writeFileSync(join(dir, "Caddyfile"), example("/etc/caddy/Caddyfile"));
      const home = { HOME: dir, XDG_DATA_HOME: join(dir, "data"), XDG_CONFIG_HOME: join(dir, "config") };
      const result = await run(caddyBin ?? "caddy", ["validate", "--config", join(dir, "Caddyfile"), "--adapter", "caddyfile"], home);
      expect(result.output).toContain("Valid configuration");
      expect(result.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the parser rejects broken files", () => {
    expect(() => parseCaddyfile("example.com {\n reverse_proxy 127.0.0.1:8787 {\n}\n")).toThrow(/never closed/);
    expect(() => parseCaddyfile("}\n")).toThrow(/unexpected/);
  });
});

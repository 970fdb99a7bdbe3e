/**
 * The floor: the least a Node pass-through proxy can do. node:http in, node:http out,
 * keep-alive to the upstream, bytes piped both ways. No auth, no metering.
 */
import http from "node:http";

const port = Number(process.argv[2] ?? 0);
const upstream = new URL(process.argv[3] ?? "http://127.0.0.1:1");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

const server = http.createServer((req, res) => {
  const path = (req.url ?? "/").replace(/^\/openai/, "");
  const headers = { ...req.headers, host: upstream.host };
  const out = http.request({ host: upstream.hostname, port: upstream.port, path, method: req.method, headers, agent }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  out.on("error", () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  res.on("close", () => out.destroy());
  req.pipe(out);
});
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`${typeof address === "object" && address ? address.port : port}\n`);
});

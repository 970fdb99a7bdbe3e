import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";

/** One request a fake received: what tests assert on (paths asked, conditional headers, the token seen). */
export interface LoggedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
}

/**
 * A fault a test arms on a fake: for requests whose path matches, answer this way instead
 * (`times` answers, then behave normally). Each fault is a documented behaviour of the real
 * API or of what sits in front of it (a proxy that hangs, a host that redirects).
 */
export type Fault =
  | { kind: "status"; status: number; body?: string; headers?: Record<string, string> }
  /** Never answer: the client's deadline must fire. */
  | { kind: "hang" }
  | { kind: "redirect"; status: 301 | 302 | 307; location: string };

export interface ArmedFault {
  path: RegExp;
  method?: string;
  times: number;
  fault: Fault;
}

export interface FakeHttp {
  url: string;
  requests: LoggedRequest[];
  faults: ArmedFault[];
  close(): Promise<void>;
}

/** Starts a loopback server whose handler sees faults and logging already applied. */
export async function startFakeHttp(handle: (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>): Promise<FakeHttp> {
  const requests: LoggedRequest[] = [];
  const faults: ArmedFault[] = [];
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push({ method: req.method ?? "GET", path: url.pathname, query: url.searchParams, headers: req.headers });
    const armed = faults.find((f) => f.times > 0 && f.path.test(url.pathname + url.search) && (f.method === undefined || f.method === req.method));
    if (armed) {
      armed.times -= 1;
      const fault = armed.fault;
      if (fault.kind === "hang") {
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
        return;
      }
      if (fault.kind === "redirect") {
        res.writeHead(fault.status, { location: fault.location, "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify({ message: "Moved Permanently", url: fault.location }));
        return;
      }
      res.writeHead(fault.status, { "content-type": "application/json; charset=utf-8", ...fault.headers });
      res.end(req.method === "HEAD" ? undefined : (fault.body ?? ""));
      return;
    }
    Promise.resolve(handle(req, res, url)).catch((err: unknown) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`fake crashed: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Git's blob id: sha1 of `blob <size>\0<content>`, as both GitHub (`sha`) and GitLab (`blob_id`) report it. */
export function gitBlobSha(text: string): string {
  const body = Buffer.from(text, "utf8");
  return createHash("sha1")
    .update(Buffer.concat([Buffer.from(`blob ${body.length}\0`), body]))
    .digest("hex");
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** RFC 8288 Link header for a page of an offset-paged listing (the shape GitHub and GitLab send). */
export function pageLinks(base: string, query: URLSearchParams, page: number, lastPage: number): string {
  const link = (p: number, rel: string): string => {
    const q = new URLSearchParams(query);
    q.set("page", String(p));
    return `<${base}?${q.toString()}>; rel="${rel}"`;
  };
  const parts: string[] = [];
  if (page > 1) parts.push(link(page - 1, "prev"));
  if (page < lastPage) parts.push(link(page + 1, "next"));
  parts.push(link(1, "first"), link(lastPage, "last"));
  return parts.join(", ");
}

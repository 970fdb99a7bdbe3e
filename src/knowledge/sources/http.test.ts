import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, BodyTooLargeError, nextLink, retryAfterMs } from "./http.ts";

let server: Server;
let url: string;
let served = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/chunked") {
      // No Content-Length: the size is known only while reading.
      res.writeHead(200, { "content-type": "text/plain" });
      const chunk = "x".repeat(64 * 1024);
      let sent = 0;
      const pump = (): void => {
        while (sent < 64) {
          sent += 1;
          served += chunk.length;
          if (!res.write(chunk)) {
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    res.writeHead(200, { "content-type": "text/plain", "content-length": "5" });
    res.end("hello");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("ApiClient", () => {
  const client = () => new ApiClient({ baseUrl: url, headers: {}, secrets: ["s3cret"], rateLimit: () => ({}) });

  it("cuts a body without Content-Length at the byte cap while reading it", async () => {
    await expect(client().request("chunked", { maxBytes: 256 * 1024 })).rejects.toBeInstanceOf(BodyTooLargeError);
    // 4 MiB were offered; reading stopped soon after the 256 KiB cap.
    expect(served).toBeLessThan(4 * 1024 * 1024);
    expect((await client().request("small", { maxBytes: 5 })).text).toBe("hello");
  });

  it("refuses a URL on another host before sending anything", () => {
    expect(() => client().resolve("http://localhost:1/x")).toThrow(/another host .* refused/);
  });

  it("reads RFC 8288 next links and Retry-After in both forms", () => {
    expect(nextLink(new Headers({ link: '<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"' }))).toBe("https://api.github.com/x?page=2");
    expect(nextLink(new Headers({ link: '<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=1>; rel="first"' }))).toBeUndefined();
    expect(retryAfterMs(new Headers({ "retry-after": "7" }), 0)).toBe(7000);
    expect(retryAfterMs(new Headers({ "retry-after": new Date(60_000).toUTCString() }), 0)).toBe(60_000);
  });
});

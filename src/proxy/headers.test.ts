import { describe, expect, it } from "vitest";
import { filterResponseHeaders, forwardRequestHeaders, gatewayHeaders } from "./headers.ts";

describe("forwardRequestHeaders (security)", () => {
  const incoming = {
    authorization: "Bearer client-gateway-token",
    "x-api-key": "",
    "x-goog-api-key": "client-token",
    "cf-access-token": "client-token",
    "cf-access-jwt-assertion": "jwt",
    cookie: "session=1",
    host: "gateway.example",
    connection: "keep-alive, x-private-hop",
    "x-private-hop": "1",
    "keep-alive": "timeout=5",
    "transfer-encoding": "chunked",
    "content-length": "10",
    "accept-encoding": "gzip, br",
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "prompt-caching-2024-07-31",
    "user-agent": "opencode/1.18.33",
    "x-session-id": "abc",
    "x-gatehouse-user-id": "spoofed",
  };

  it("strips every client credential, cookies, host and hop-by-hop headers, and injects the real key", () => {
    const out = forwardRequestHeaders(incoming, { placement: "x-api-key", value: "sk-real" }, { "x-gatehouse-user-id": "uuid-1" });
    expect(out).toEqual({
      "x-api-key": "sk-real",
      "anthropic-version": "2023-06-01",
      "anthropic-beta": "prompt-caching-2024-07-31",
      "user-agent": "opencode/1.18.33",
      "x-session-id": "abc",
      "accept-encoding": "identity",
      "x-gatehouse-user-id": "uuid-1",
    });
  });

  it("places the key as the provider expects", () => {
    expect(forwardRequestHeaders({}, { placement: "authorization-bearer", value: "sk-o" }, {})["authorization"]).toBe("Bearer sk-o");
    expect(forwardRequestHeaders({}, { placement: "x-goog-api-key", value: "g" }, {})["x-goog-api-key"]).toBe("g");
  });

  it("forwards no credential at all when the provider has no key (local compat servers)", () => {
    const out = forwardRequestHeaders(incoming, undefined, {});
    for (const name of ["authorization", "x-api-key", "x-goog-api-key", "cf-access-token"]) expect(out[name]).toBeUndefined();
  });
});

describe("filterResponseHeaders", () => {
  it("drops hop-by-hop headers and set-cookie, keeps provider headers", () => {
    const out = filterResponseHeaders({ "content-type": "text/event-stream", "set-cookie": ["__cf_bm=x"], connection: "keep-alive", "transfer-encoding": "chunked", "request-id": "req_1", "anthropic-ratelimit-requests-remaining": "9" }, false);
    expect(out).toEqual({ "content-type": "text/event-stream", "request-id": "req_1", "anthropic-ratelimit-requests-remaining": "9" });
  });

  it("keeps content-length unless the body is rewritten", () => {
    expect(filterResponseHeaders({ "content-length": "12" }, false)["content-length"]).toBe("12");
    expect(filterResponseHeaders({ "content-length": "12" }, true)["content-length"]).toBeUndefined();
  });
});

describe("gatewayHeaders", () => {
  it("the caller's id overrides a pinned header of that name, the JSON content type a pinned content type", () => {
    const pinned = { "x-gatehouse-user-id": "pinned-spoof", "content-type": "text/plain", "x-org": "acme" };
    expect(gatewayHeaders(pinned, "x-gatehouse-user-id", "uuid-1", true)).toEqual({ "x-gatehouse-user-id": "uuid-1", "content-type": "application/json", "x-org": "acme" });
    expect(gatewayHeaders(pinned, "x-gatehouse-user-id", "uuid-1", false)).toEqual({ "x-gatehouse-user-id": "uuid-1", "content-type": "text/plain", "x-org": "acme" });
    expect(pinned["x-gatehouse-user-id"]).toBe("pinned-spoof");
  });
});

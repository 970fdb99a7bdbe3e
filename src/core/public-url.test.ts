import { describe, expect, it } from "vitest";
import { publicBaseUrl, publicUrlIsHttps, trustedBaseUrl, type PublicUrlSettings } from "./public-url.ts";

/** A request as the runtime hands it over: the URL built from the Host header, and the headers. */
function request(url: string, headers: Record<string, string> = {}): { url: string; headers: Headers } {
  const h = new Headers();
  for (const [name, value] of Object.entries(headers)) h.set(name, value);
  if (!h.has("host") && URL.canParse(url)) h.set("host", new URL(url).host);
  return { url, headers: h };
}

const FORWARDED = { "x-forwarded-host": "evil.example", "x-forwarded-proto": "https", forwarded: "host=evil.example;proto=https", "x-forwarded-port": "443" };
const dev: PublicUrlSettings = { authMode: "dev", publicUrl: undefined };

describe("the public base URL: one function, one set of rules", () => {
  it("a configured public URL wins in every mode, whatever Host and forwarded headers say", () => {
    for (const authMode of ["dev", "jwt", "oidc"] as const) {
      const settings = { authMode, publicUrl: "https://ai.example.com//" };
      for (const req of [request("http://evil.example/x"), request("http://127.0.0.1:8787/", FORWARDED), request("http://127.0.0.1:8787/", { host: "evil.example" })]) {
        expect(publicBaseUrl(settings, req)).toBe("https://ai.example.com");
        expect(publicUrlIsHttps(settings, req)).toBe(true);
      }
    }
  });

  it("never reads forwarded headers: a loopback request stays its own origin, scheme included", () => {
    expect(publicBaseUrl(dev, request("http://127.0.0.1:8787/a", FORWARDED))).toBe("http://127.0.0.1:8787");
    expect(publicUrlIsHttps(dev, request("http://127.0.0.1:8787/a", FORWARDED))).toBe(false);
    expect(publicBaseUrl({ authMode: "dev", publicUrl: "http://gate.internal:8787" }, request("http://127.0.0.1:8787/a", FORWARDED))).toBe("http://gate.internal:8787");
  });

  it("jwt and oidc without a public URL: refused, naming the setting, even from loopback", () => {
    for (const authMode of ["jwt", "oidc"] as const) {
      expect(trustedBaseUrl({ authMode, publicUrl: undefined }, request("http://127.0.0.1:8787/"))).toBeUndefined();
      expect(() => publicBaseUrl({ authMode, publicUrl: undefined }, request("http://127.0.0.1:8787/"))).toThrow(/GATEHOUSE_PUBLIC_URL is not set/);
    }
  });

  it("dev mode without one: only loopback names, in the URL and in the Host header alike", () => {
    for (const url of ["http://127.0.0.1:8787/a", "http://localhost:1/", "http://[::1]:8787/x", "http://127.9.9.9/"]) expect(publicBaseUrl(dev, request(url))).toBe(new URL(url).origin);
    const hostile = [
      request("http://evil.example:8787/"),
      request("http://127.0.0.1.evil.example/"),
      request("http://localhost.evil.example/"),
      request("http://[::2]:8787/"),
      request("http://0.0.0.0:8787/"),
      // The URL says loopback, the Host header does not (a runtime that builds the URL elsewhere).
      request("http://127.0.0.1:8787/", { host: "evil.example" }),
      request("http://127.0.0.1:8787/", { host: "127.0.0.1@evil.example" }),
      request("http://127.0.0.1:8787/", { host: "evil.example, 127.0.0.1" }),
      request("http://127.0.0.1:8787/", { host: "" }),
      request("http://127.0.0.1:8787/", { host: "127.0.0.1:8787/evil" }),
      request("http://127.0.0.1:8787/", { host: "127.0.0.1:8787?evil" }),
      request("http://127.0.0.1:8787/", { host: "127.0.0.1:8787#evil" }),
      request("http://127.0.0.1:8787/", { host: "127.0.0.1:8787\\evil" }),
      request("not a url"),
      request("file:///etc/passwd", { host: "localhost" }),
    ];
    for (const req of hostile) {
      expect(trustedBaseUrl(dev, req), `${req.url} Host ${req.headers.get("host")}`).toBeUndefined();
      expect(() => publicBaseUrl(dev, req)).toThrow(/GATEHOUSE_PUBLIC_URL is not set/);
    }
  });
});

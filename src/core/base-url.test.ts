import { describe, expect, it } from "vitest";
import { assertPublicUrlConfigured, publicBaseUrl } from "./base-url.ts";
import { hostnameOfHost, isLoopbackHostname } from "./host-guard.ts";

describe("publicBaseUrl: never the request's Host outside dev mode", () => {
  it("uses the configured public URL in every mode, whatever the request named", () => {
    for (const authMode of ["dev", "jwt", "oidc"] as const) {
      expect(publicBaseUrl({ authMode, publicUrl: "https://ai.example.com/" }, "http://evil.example/x")).toBe("https://ai.example.com");
    }
  });
  it("without one: jwt and oidc refuse; dev takes the request origin only when it is loopback", () => {
    expect(() => publicBaseUrl({ authMode: "oidc", publicUrl: undefined }, "http://127.0.0.1:8787/")).toThrow(/GATEHOUSE_PUBLIC_URL is not set/);
    expect(() => publicBaseUrl({ authMode: "jwt", publicUrl: undefined }, "http://127.0.0.1:8787/")).toThrow(/GATEHOUSE_PUBLIC_URL/);
    expect(() => publicBaseUrl({ authMode: "dev", publicUrl: undefined }, "http://evil.example:8787/")).toThrow(/GATEHOUSE_PUBLIC_URL/);
    expect(publicBaseUrl({ authMode: "dev", publicUrl: undefined }, "http://[::1]:8787/a")).toBe("http://[::1]:8787");
  });
  it("start-up check names the setting", () => {
    expect(() => assertPublicUrlConfigured({ authMode: "oidc", publicUrl: undefined })).toThrow(/GATEHOUSE_AUTH_MODE=oidc needs GATEHOUSE_PUBLIC_URL/);
    expect(() => assertPublicUrlConfigured({ authMode: "jwt", publicUrl: undefined })).toThrow(/GATEHOUSE_AUTH_MODE=jwt needs GATEHOUSE_PUBLIC_URL/);
    expect(() => assertPublicUrlConfigured({ authMode: "dev", publicUrl: undefined })).not.toThrow();
  });
});

describe("loopback host names", () => {
  it("accepts 127/8, localhost and ::1, with or without a port; refuses look-alikes", () => {
    for (const host of ["127.0.0.1:8787", "127.1.2.3", "localhost:1", "LocalHost", "[::1]:8787", "[::1]"]) expect(isLoopbackHostname(hostnameOfHost(host) ?? ""), host).toBe(true);
    for (const host of ["evil.example", "127.0.0.1.evil.example", "localhost.evil.example", "[::2]", "0.0.0.0", "10.0.0.1:8787", "127.0.0.1@evil.example"]) {
      expect(isLoopbackHostname(hostnameOfHost(host) ?? ""), host).toBe(false);
    }
  });
});

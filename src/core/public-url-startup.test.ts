import { describe, expect, it } from "vitest";
import { assertPublicUrlConfigured } from "./public-url.ts";
import { hostnameOfHost, isLoopbackHostname } from "./host-guard.ts";

describe("GATEHOUSE_PUBLIC_URL at start-up (the base URL itself: core/public-url.test.ts)", () => {
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

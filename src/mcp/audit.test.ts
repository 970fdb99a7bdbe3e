import { describe, expect, it } from "vitest";
import { capped, MAX_AUDIT_JSON_BYTES } from "./audit.ts";

describe("audit column cap", () => {
  it("keeps small JSON and replaces large JSON (counted in UTF-8 bytes) with its size", () => {
    expect(capped(null)).toBeNull();
    expect(capped('{"a":1}')).toBe('{"a":1}');
    const exactly = JSON.stringify({ s: "x".repeat(MAX_AUDIT_JSON_BYTES - 8) });
    expect(capped(exactly)).toBe(exactly);
    const multibyte = JSON.stringify({ s: "é".repeat(MAX_AUDIT_JSON_BYTES / 2) });
    expect(JSON.parse(capped(multibyte)!)).toEqual({ truncated: true, bytes: new TextEncoder().encode(multibyte).byteLength });
  });
});

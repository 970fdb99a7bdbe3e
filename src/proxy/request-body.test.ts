import { describe, expect, it } from "vitest";
import { parseJsonRequest, parseMediaType, requireNoBody } from "./request-body.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("parseMediaType (RFC 9110 §8.3.1)", () => {
  it("is case-insensitive in type and parameter names, and unquotes values", () => {
    expect(parseMediaType('Application/JSON; Charset="UTF-8"')).toEqual({ essence: "application/json", params: new Map([["charset", "UTF-8"]]) });
    expect(parseMediaType("application/json;charset=utf-8 ; x=y")?.params.get("x")).toBe("y");
  });
  it.each(["json", "application/", "/json", "application/json; charset", "application/json; =x", "appli cation/json"])("rejects %s", (value) => {
    expect(parseMediaType(value)).toBeUndefined();
  });
});

describe("parseJsonRequest", () => {
  it("parses JSON whatever the case of its media type", () => {
    expect(parseJsonRequest(bytes('{"model":"m"}'), "APPLICATION/JSON", undefined)).toEqual({ model: "m" });
    expect(parseJsonRequest(bytes('{"a":1}'), "application/json; charset=utf-8", "identity")).toEqual({ a: 1 });
  });
  it.each([
    [undefined, "unsupported_media_type"],
    ["text/plain", "unsupported_media_type"],
    ["application/json; charset=utf-16", "unsupported_media_type"],
    ["application/problem+json", "unsupported_media_type"],
    [["application/json", "text/plain"], "bad_request"],
  ] as const)("refuses content type %j with %s", (type, code) => {
    expect(() => parseJsonRequest(bytes("{}"), type as string | string[] | undefined, undefined)).toThrow(expect.objectContaining({ code }) as Error);
  });
  it("refuses content encodings, empty, non-object, invalid and non-UTF-8 bodies", () => {
    expect(() => parseJsonRequest(bytes("{}"), "application/json", "gzip")).toThrow(expect.objectContaining({ code: "unsupported_media_type" }) as Error);
    for (const body of [bytes(""), bytes("[]"), bytes("1"), bytes("{"), new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])]) {
      expect(() => parseJsonRequest(body, "application/json", undefined)).toThrow(expect.objectContaining({ code: "bad_request" }) as Error);
    }
  });
  it("requireNoBody refuses a declared or chunked body", () => {
    expect(() => requireNoBody({})).not.toThrow();
    expect(() => requireNoBody({ "content-length": "0" })).not.toThrow();
    expect(() => requireNoBody({ "content-length": "3" })).toThrow("takes no request body");
    expect(() => requireNoBody({ "transfer-encoding": "chunked" })).toThrow("takes no request body");
  });
});

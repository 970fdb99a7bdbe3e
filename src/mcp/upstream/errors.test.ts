import { describe, expect, it } from "vitest";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { GatewayError } from "../../core/errors.ts";
import { invalidSession } from "./connection.ts";
import { describeUpstreamError } from "./errors.ts";

describe("describeUpstreamError", () => {
  it("names the failure class in words, never an upstream body", () => {
    const withCode = (code: string) => Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error(`x ${code}`), { code }) });
    expect(describeUpstreamError(withCode("ECONNREFUSED"))).toBe("connection refused");
    expect(describeUpstreamError(Object.assign(new Error("spawn /nope ENOENT"), { code: "ENOENT" }))).toBe("command not found");
    expect(describeUpstreamError(Object.assign(new Error("spawn /etc/passwd EACCES"), { code: "EACCES" }))).toBe("permission denied (is the command executable?)");
    expect(describeUpstreamError(new McpError(ErrorCode.RequestTimeout, "Request timed out", { timeout: 60000 }))).toBe("timed out after 60000 ms");
    expect(describeUpstreamError(new McpError(ErrorCode.ConnectionClosed, "Connection closed"))).toBe("connection closed (the upstream went away)");
    expect(describeUpstreamError(new StreamableHTTPError(502, "Error POSTing to endpoint: <html>secret stack trace</html>"))).toBe("HTTP 502");
    expect(describeUpstreamError(new GatewayError("not_configured", 'MCP server "x" needs the secret K, which is not set.'))).toContain("needs the secret K");
  });
});

describe("invalidSession", () => {
  it("is a 404, or a 400 whose body names the session; other 400s are not", () => {
    expect(invalidSession(new StreamableHTTPError(404, "Error POSTing to endpoint: Session not found"))).toBeDefined();
    expect(invalidSession(new StreamableHTTPError(400, 'Error POSTing to endpoint: {"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":3}'))).toBeDefined();
    expect(invalidSession(new StreamableHTTPError(400, "Error POSTing to endpoint: invalid params"))).toBeUndefined();
    expect(invalidSession(new StreamableHTTPError(500, "session"))).toBeUndefined();
    expect(invalidSession(new Error("session"))).toBeUndefined();
  });
});

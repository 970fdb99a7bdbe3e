import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { GatewayError } from "../../core/errors.ts";

/** System error codes an operator can act on, in words (never the upstream's own text). */
const SYSTEM_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by the upstream",
  EPIPE: "connection closed by the upstream",
  ETIMEDOUT: "connect timed out",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found (DNS)",
  EHOSTUNREACH: "host unreachable",
  ENOENT: "command not found",
  EACCES: "permission denied (is the command executable?)",
  UND_ERR_SOCKET: "connection closed by the upstream",
  UND_ERR_CONNECT_TIMEOUT: "connect timed out",
};

/** The system error code anywhere on the cause chain (fetch wraps ECONNREFUSED in `cause`). */
export function systemCode(err: unknown): string | undefined {
  for (let cursor: unknown = err, depth = 0; cursor && depth < 5; depth += 1) {
    const code = (cursor as { code?: unknown }).code;
    if (typeof code === "string") return code;
    cursor = (cursor as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isTimeout(err: unknown): boolean {
  return err instanceof McpError && err.code === ErrorCode.RequestTimeout;
}

/**
 * What went wrong with an upstream, safe to show a user or store: words for the failure
 * class ("connection refused", "command not found", "timed out after 3000 ms", "HTTP 500"),
 * never an upstream response body or a credential.
 */
export function describeUpstreamError(err: unknown): string {
  if (err instanceof GatewayError) return err.message;
  if (isTimeout(err)) {
    const timeout = ((err as McpError).data as { timeout?: unknown } | undefined)?.timeout;
    return typeof timeout === "number" ? `timed out after ${timeout} ms` : "timed out";
  }
  if (err instanceof McpError && err.code === ErrorCode.ConnectionClosed) return "connection closed (the upstream went away)";
  if (err instanceof StreamableHTTPError) return err.code !== undefined && err.code > 0 ? `HTTP ${err.code}` : "unexpected response from the upstream";
  const code = systemCode(err);
  if (code && Object.hasOwn(SYSTEM_CODES, code)) return SYSTEM_CODES[code] as string;
  if (err instanceof McpError) return `MCP error ${err.code}`;
  if (code) return `${err instanceof Error ? err.name : "error"} (${code})`;
  if (err instanceof Error) return "code" in err && typeof err.code === "number" ? `${err.name} (HTTP ${err.code})` : err.name;
  return "unknown error";
}

import { describe, expect, it } from "vitest";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { ServerHealth } from "./health.ts";

const refused = Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }) });
const timeout = new McpError(ErrorCode.RequestTimeout, "Request timed out", { timeout: 3000 });

function health() {
  let now = 1_000_000;
  const h = new ServerHealth({ failureThreshold: 3, cooldownMs: 5_000, maxCooldownMs: 20_000, now: () => now });
  return { h, advance: (ms: number) => (now += ms) };
}

describe("ServerHealth (circuit breaker)", () => {
  it("opens at once on a timeout and refuses until the cool-down ends", () => {
    const { h, advance } = health();
    expect(h.admit()).toBe(true);
    h.failed(timeout, "timeout");
    expect(h.snapshot()).toMatchObject({ state: "open", reason: "timed out after 3000 ms" });
    expect(h.admit()).toBe(false);
    expect(h.skipLists()).toBe(true);
    expect(h.refusal("x")).toBe('MCP server "x" is unavailable (timed out after 3000 ms); the portal retries it in 5 s.');
    advance(5_000);
    expect(h.admit()).toBe(true); // the probe
    expect(h.admit()).toBe(false); // everyone else waits for the probe
    h.succeeded();
    expect(h.snapshot()).toEqual({ state: "ok" });
    expect(h.admit()).toBe(true);
  });

  it("needs three other failures in a row, and a failed probe doubles the cool-down up to the cap", () => {
    const { h, advance } = health();
    h.failed(refused, "error");
    h.failed(refused, "error");
    expect(h.snapshot()).toMatchObject({ state: "degraded", reason: "connection refused" });
    expect(h.admit()).toBe(true);
    h.failed(refused, "error");
    expect(h.snapshot().state).toBe("open");
    advance(5_000);
    // Each failed probe: the next cool-down is twice the last, at most 20 s.
    for (const next of [10_000, 20_000, 20_000]) {
      expect(h.admit()).toBe(true);
      h.failed(refused, "error");
      advance(next - 1);
      expect(h.admit()).toBe(false);
      advance(1);
    }
    expect(h.admit()).toBe(true);
  });

  it("a cancelled probe gives the probe slot back without closing or reopening", () => {
    const { h, advance } = health();
    h.failed(timeout, "timeout");
    advance(5_000);
    expect(h.admit()).toBe(true);
    h.released();
    expect(h.snapshot().state).toBe("open");
    expect(h.admit()).toBe(true);
  });

  it("lists skip a server while its late request is pending, and for a cool-down after", async () => {
    const { h, advance } = health();
    let settle!: () => void;
    const pending = new Promise<void>((resolve) => (settle = resolve));
    h.markSlow(3_000, pending);
    expect(h.skipLists()).toBe(true);
    advance(60_000);
    expect(h.skipLists()).toBe(true); // still pending: nobody waits for it again
    expect(h.admit()).toBe(true); // calls are not refused for a slow list
    settle();
    await pending;
    expect(h.skipLists()).toBe(true);
    advance(5_000);
    expect(h.skipLists()).toBe(false);
  });
});

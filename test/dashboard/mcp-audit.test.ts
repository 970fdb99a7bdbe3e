import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, startHarness, type Harness } from "../gateway/harness.ts";

// The portal's audit log on the dashboard: what an admin sees equals what the log holds.
let h: Harness;
// The rows reach 6 s into the past; in the first seconds after midnight UTC some would land
// on the day before the one queried, so the newest row is placed at least 10 s into the day.
const wall = Date.now();
const now = Math.max(wall, wall - (wall % 86_400_000) + 10_000);
const day = new Date(now).toISOString().slice(0, 10);

beforeAll(async () => {
  h = await startHarness();
  const rows = [...Array.from({ length: 5 }, (_, i) => ({ tool: "create_issue", outcome: "ok", duration: 100 + i * 10 })), { tool: "create_issue", outcome: "tool_error", duration: 50 }, { tool: "search", outcome: "denied", duration: 1 }];
  await h.gateway.deps.db
    .insertInto("mcp_audit")
    .values(
      rows.map((r, i) => ({
        id: `audit-${i}`,
        ts: now - i * 1000,
        caller_id: "5a1e0000-0000-4000-8000-000000000001",
        team: "eng",
        session_id: null,
        server_id: r.tool === "search" ? "wiki" : "github",
        tool: r.tool,
        via: i === 0 ? "codemode" : "direct",
        outcome: r.outcome,
        duration_ms: r.duration,
        error: null,
        arguments_json: null,
        result_json: null,
      })),
    )
    .execute();
});
afterAll(async () => {
  await h.close();
});

describe("dashboard: MCP audit log", () => {
  it("shows calls per tool with failures and denials, and the latest calls", async () => {
    const res = await fetch(`${h.gateway.url}/dashboard?from=${day}&to=${day}`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/data-test="mcp-tool" data-key="github_create_issue" data-calls="6" data-failed="1" data-denied="0"/);
    expect(html).toMatch(/data-test="mcp-tool" data-key="wiki_search" data-calls="1" data-failed="0" data-denied="1"/);
    expect(html.match(/data-test="mcp-call"/g)).toHaveLength(7);
    expect(html).toContain("(code mode)");
  });

  it("shows nothing for a range without calls", async () => {
    const res = await fetch(`${h.gateway.url}/dashboard?from=2020-01-01&to=2020-01-02`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } });
    const html = await res.text();
    expect(html).not.toContain('data-test="mcp-tool"');
    expect(html).toContain("No MCP tool calls in this range.");
  });
});

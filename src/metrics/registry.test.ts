import { describe, expect, it } from "vitest";
import { blankLedgerRow } from "../ledger/index.ts";
import { MetricsRegistry } from "./registry.ts";

function row(model: string, extra: Partial<ReturnType<typeof blankLedgerRow>> = {}) {
  const r = blankLedgerRow({ request_id: crypto.randomUUID(), ts: 0, day: "2026-11-24", caller_id: "u", team: null, provider: "openai", model, endpoint: "chat", status: 200, outcome: "completed", duration_ms: 120 });
  return Object.assign(r, extra);
}

describe("MetricsRegistry", () => {
  it("counts requests, tokens, cost and latency per provider and model in the Prometheus text format", () => {
    const metrics = new MetricsRegistry();
    metrics.observe(row("gpt-5", { input_tokens: 100, output_tokens: 20, cache_read_tokens: 5, cache_write_5m_tokens: 3, cache_write_1h_tokens: 4, cost_usd: 0.25, ttfb_ms: 30 }));
    metrics.observe(row("gpt-5", { input_tokens: 1, cost_usd: 0.5, status: 502, outcome: "upstream_failed" }));
    metrics.observe(row("gpt-5", { status: 429, outcome: "not_forwarded", error_code: "budget_exceeded" }));
    const text = metrics.render();
    expect(text).toContain('gatehouse_requests_total{provider="openai",model="gpt-5",outcome="completed",status="2xx"} 1');
    expect(text).toContain('gatehouse_requests_total{provider="openai",model="gpt-5",outcome="upstream_failed",status="5xx"} 1');
    expect(text).toContain('gatehouse_tokens_total{provider="openai",model="gpt-5",kind="input"} 101');
    expect(text).toContain('gatehouse_tokens_total{provider="openai",model="gpt-5",kind="cache_write"} 7');
    expect(text).not.toContain('kind="reasoning"');
    expect(text).toContain('gatehouse_cost_usd_total{provider="openai",model="gpt-5"} 0.75');
    expect(text).toContain('gatehouse_denials_total{provider="openai",reason="budget_exceeded"} 1');
    // The refused request never reached an upstream: two durations, one time to first byte.
    expect(text).toContain('gatehouse_request_duration_seconds_count{provider="openai"} 2');
    expect(text).toContain('gatehouse_request_duration_seconds_bucket{provider="openai",le="0.25"} 2');
    expect(text).toContain('gatehouse_request_duration_seconds_bucket{provider="openai",le="0.1"} 0');
    expect(text).toContain('gatehouse_ttfb_seconds_bucket{provider="openai",le="0.05"} 1');
  });

  it("escapes label values and caps the number of models (client-chosen names) at 2000", () => {
    const metrics = new MetricsRegistry();
    metrics.observe(row('we"ird\\model\n'));
    for (let i = 0; i < 2100; i++) metrics.observe(row(`m${i}`));
    const text = metrics.render();
    expect(text).toContain('model="we\\"ird\\\\model\\n"');
    expect(text).toContain('model="m1998"');
    expect(text).not.toContain('model="m1999"');
    expect(text).toContain('gatehouse_requests_total{provider="openai",model="other",outcome="completed",status="2xx"} 101');
  });

  it("counts estimated rows and their cost apart, and renders gauges read at scrape time", () => {
    const metrics = new MetricsRegistry();
    metrics.observe(row("gpt-5", { input_tokens: 5000, cost_usd: 0.00625, outcome: "client_aborted", estimated: 1 }));
    metrics.observe(row("gpt-5", { input_tokens: 10, cost_usd: 0.5 }));
    let inFlight = 3;
    metrics.gauge("gatehouse_upstream_inflight", "in flight", () => inFlight);
    metrics.gauge("gatehouse_upstream_pool_sockets", "sockets", () => [
      ['state="active"', 2],
      ['state="free"', 7],
    ]);
    metrics.gauge("gatehouse_caller_concurrency_refused_total", "refused", () => 4, "counter");
    let text = metrics.render();
    expect(text).toContain('gatehouse_estimated_requests_total{provider="openai",model="gpt-5"} 1');
    expect(text).toContain('gatehouse_estimated_cost_usd_total{provider="openai",model="gpt-5"} 0.00625');
    expect(text).toContain('gatehouse_cost_usd_total{provider="openai",model="gpt-5"} 0.50625');
    expect(text).toContain("# TYPE gatehouse_upstream_inflight gauge\ngatehouse_upstream_inflight 3");
    expect(text).toContain('gatehouse_upstream_pool_sockets{state="free"} 7');
    expect(text).toContain("# TYPE gatehouse_caller_concurrency_refused_total counter");
    inFlight = 0;
    text = metrics.render();
    expect(text).toContain("gatehouse_upstream_inflight 0");
  });

  it("an unpriced request gets no cost sample, only its own counter, also when its usage was estimated", () => {
    const metrics = new MetricsRegistry();
    metrics.observe(row("gpt-6.2-sol", { input_tokens: 5000, output_tokens: 10, unpriced: 1 }));
    metrics.observe(row("gpt-6.2-sol", { input_tokens: 300, unpriced: 1, estimated: 1, outcome: "client_aborted" }));
    // A row that says unpriced and still carries a cost (a writer's bug) must not be summed as one.
    metrics.observe(row("gpt-6.2-sol", { input_tokens: 1, unpriced: 1, cost_usd: 0.5 }));
    metrics.observe(row("gpt-5", { input_tokens: 10, cost_usd: 0.25 }));
    const text = metrics.render();
    expect(text).toContain('gatehouse_unpriced_requests_total{provider="openai",model="gpt-6.2-sol"} 3');
    expect(text).not.toMatch(/gatehouse_cost_usd_total\{[^}]*gpt-6\.2-sol/);
    expect(text).not.toMatch(/gatehouse_estimated_cost_usd_total\{[^}]*gpt-6\.2-sol/);
    expect(text).toContain('gatehouse_estimated_requests_total{provider="openai",model="gpt-6.2-sol"} 1');
    expect(text).toContain('gatehouse_cost_usd_total{provider="openai",model="gpt-5"} 0.25');
    expect(text).not.toMatch(/gatehouse_unpriced_requests_total\{[^}]*gpt-5"/);
    expect(text).toContain("# TYPE gatehouse_unpriced_requests_total counter");
  });

  it("counts requests per coding client, rows from before the client was recorded as unknown", () => {
    const metrics = new MetricsRegistry();
    metrics.observe(row("gpt-5", { client: "codex" }));
    metrics.observe(row("gpt-5", { client: "codex" }));
    metrics.observe(row("gpt-5", { client: "claude-code" }));
    metrics.observe(row("gpt-5", { client: null }));
    const text = metrics.render();
    expect(text).toContain('gatehouse_client_requests_total{client="codex"} 2');
    expect(text).toContain('gatehouse_client_requests_total{client="claude-code"} 1');
    expect(text).toContain('gatehouse_client_requests_total{client="unknown"} 1');
  });
});

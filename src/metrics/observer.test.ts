import { describe, expect, it } from "vitest";
import { blankLedgerRow } from "../ledger/index.ts";
import { providerById } from "../providers/index.ts";
import { metricsSubscriber } from "./observer.ts";
import { MetricsRegistry } from "./registry.ts";

const start = (provider: "openai" | "anthropic") => ({ requestId: crypto.randomUUID(), provider: providerById(provider), method: "POST", ts: 0, startedAt: 0 });

describe("metricsSubscriber", () => {
  it("counts every end: rows with their usage, and refusals nobody can be charged for", () => {
    const registry = new MetricsRegistry();
    const observer = metricsSubscriber(registry);
    const row = blankLedgerRow({ request_id: "r1", ts: 0, day: "1970-01-01", caller_id: "c", team: null, provider: "openai", model: "gpt-5", endpoint: "chat", status: 200, outcome: "completed", duration_ms: 100 });
    row.input_tokens = 7;
    observer.begin(start("openai"))?.ended({ outcome: "completed", status: 200, errorCode: null, row });
    observer.begin(start("openai"))?.ended({ outcome: "not_forwarded", status: 401, errorCode: "unauthenticated", row: undefined });
    observer.begin(start("anthropic"))?.ended({ outcome: "not_forwarded", status: 401, errorCode: "unauthenticated", row: undefined });
    observer.begin(start("anthropic"))?.ended({ outcome: "not_forwarded", status: 405, errorCode: "method_not_allowed", row: undefined });
    const text = registry.render();
    expect(text).toContain('gatehouse_requests_total{provider="openai",model="gpt-5",outcome="completed",status="2xx"} 1');
    expect(text).toContain('gatehouse_tokens_total{provider="openai",model="gpt-5",kind="input"} 7');
    expect(text).toContain('gatehouse_requests_total{provider="openai",model="unknown",outcome="not_forwarded",status="4xx"} 1');
    expect(text).toContain('gatehouse_requests_total{provider="anthropic",model="unknown",outcome="not_forwarded",status="4xx"} 2');
    expect(text).toContain('gatehouse_denials_total{provider="openai",reason="unauthenticated"} 1');
    expect(text).toContain('gatehouse_denials_total{provider="anthropic",reason="unauthenticated"} 1');
    expect(text).toContain('gatehouse_denials_total{provider="anthropic",reason="method_not_allowed"} 1');
    // Refusals take no time worth a histogram: only the answered request has a duration.
    expect(text).toContain('gatehouse_request_duration_seconds_count{provider="openai"} 1');
    expect(text).not.toContain('gatehouse_request_duration_seconds_count{provider="anthropic"}');
  });

  it("one listener per provider serves every request (no allocation per request)", () => {
    const observer = metricsSubscriber(new MetricsRegistry());
    expect(observer.begin(start("openai"))).toBe(observer.begin(start("openai")));
    expect(observer.begin(start("openai"))).not.toBe(observer.begin(start("anthropic")));
  });
});

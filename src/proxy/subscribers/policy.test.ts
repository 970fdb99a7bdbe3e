import { describe, expect, it } from "vitest";
import { blankLedgerRow, type LedgerRow } from "../../ledger/index.ts";
import { providerById } from "../../providers/index.ts";
import type { Admission } from "../policy.ts";
import { policySubscriber } from "./policy.ts";

const start = { requestId: "r1", provider: providerById("openai"), method: "POST", ts: 0, startedAt: 0 };
const row = blankLedgerRow({ request_id: "r1", ts: 0, day: "1970-01-01", caller_id: "c", team: null, provider: "openai", model: "gpt-5", endpoint: "chat", status: 200, outcome: "completed", duration_ms: 1 });

function admission() {
  const attempts: Array<[string, number]> = [];
  const settled: LedgerRow[] = [];
  const a: Admission = { bodyChanged: false, recordAttempt: (model, status) => void attempts.push([model, status]), settle: (r) => void settled.push(r) };
  return { a, attempts, settled };
}

describe("policySubscriber", () => {
  it("feeds every attempt to the breaker and settles once with the final row", () => {
    const { a, attempts, settled } = admission();
    const listener = policySubscriber().begin(start);
    listener?.admitted?.(a);
    listener?.attempted?.({ attempt: 1, model: "gpt-5", status: 503, serverAddress: undefined, retried: true });
    listener?.attempted?.({ attempt: 2, model: "gpt-5-mini", status: 200, serverAddress: undefined, retried: false });
    listener?.ended({ outcome: "completed", status: 200, errorCode: null, row });
    // A second end (a bug upstream of it) never settles twice.
    listener?.ended({ outcome: "completed", status: 200, errorCode: null, row });
    expect(attempts).toEqual([
      ["gpt-5", 503],
      ["gpt-5-mini", 200],
    ]);
    expect(settled).toEqual([row]);
  });

  it("settles a request refused after admission (the concurrency cap) at its refusal row", () => {
    const { a, settled } = admission();
    const listener = policySubscriber().begin(start);
    listener?.admitted?.(a);
    const refused = { ...row, status: 429, outcome: "not_forwarded" as const, error_code: "rate_limited" };
    listener?.ended({ outcome: "not_forwarded", status: 429, errorCode: "rate_limited", row: refused });
    expect(settled).toEqual([refused]);
  });

  it("settles nothing for a request never admitted, and keeps requests apart", () => {
    const first = admission();
    const subscriber = policySubscriber();
    const admitted = subscriber.begin(start);
    const refused = subscriber.begin({ ...start, requestId: "r2" });
    admitted?.admitted?.(first.a);
    refused?.ended({ outcome: "not_forwarded", status: 403, errorCode: "forbidden", row });
    expect(first.settled).toEqual([]);
    admitted?.ended({ outcome: "completed", status: 200, errorCode: null, row });
    expect(first.settled).toEqual([row]);
  });
});

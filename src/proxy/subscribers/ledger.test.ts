import { describe, expect, it } from "vitest";
import { blankLedgerRow, type LedgerRow } from "../../ledger/index.ts";
import { providerById } from "../../providers/index.ts";
import { ledgerSubscriber } from "./ledger.ts";

const start = { requestId: "r1", provider: providerById("openai"), method: "POST", ts: 0, startedAt: 0 };
const row = blankLedgerRow({ request_id: "r1", ts: 0, day: "1970-01-01", caller_id: "c", team: null, provider: "openai", model: "gpt-5", endpoint: "chat", status: 403, outcome: "not_forwarded", duration_ms: 1 });

describe("ledgerSubscriber", () => {
  it("records each ended row once, and skips an end without a row (nobody to charge)", () => {
    const rows: LedgerRow[] = [];
    const observer = ledgerSubscriber({ record: (r) => void rows.push(r) });
    observer.begin(start)?.ended({ outcome: "not_forwarded", status: 403, errorCode: "forbidden", row });
    observer.begin({ ...start, requestId: "r2" })?.ended({ outcome: "not_forwarded", status: 401, errorCode: "unauthenticated", row: undefined });
    expect(rows).toEqual([row]);
  });
});

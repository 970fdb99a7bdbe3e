import { describe, expect, it } from "vitest";
import type { Logger } from "../core/logger.ts";
import { blankLedgerRow } from "../ledger/index.ts";
import { providerById } from "../providers/index.ts";
import { combineObservers, type RequestEnd, type RequestObserver, type RequestStart } from "./observer.ts";

const start: RequestStart = { requestId: "r1", provider: providerById("openai"), method: "POST", ts: 0, startedAt: 0 };
const row = blankLedgerRow({ request_id: "r1", ts: 0, day: "1970-01-01", caller_id: "c", team: null, provider: "openai", model: "gpt-5", endpoint: "chat", status: 200, outcome: "completed", duration_ms: 1 });
const end: RequestEnd = { outcome: "completed", status: 200, errorCode: null, row };

function recordingLogger() {
  const errors: Array<Record<string, unknown>> = [];
  const logger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (fields) => void errors.push(fields) };
  return { logger, errors };
}

function recorder(log: string[], name: string): RequestObserver {
  return { begin: () => ({ attempted: (a) => void log.push(`${name} attempted ${a.status}`), ended: (e) => void log.push(`${name} ended ${e.outcome}`) }) };
}

describe("combineObservers", () => {
  it("a subscriber that throws is logged and the others still hear every event", () => {
    const log: string[] = [];
    const { logger, errors } = recordingLogger();
    const throwing: RequestObserver = {
      begin: () => ({
        attempted: () => {
          throw new Error("exporter down");
        },
        ended: () => {
          throw new Error("exporter down");
        },
      }),
    };
    const listener = combineObservers([throwing, recorder(log, "ledger"), recorder(log, "policy")], logger).begin(start);
    listener?.attempted?.({ attempt: 1, model: "gpt-5", status: 200, serverAddress: "api.openai.com", retried: false });
    listener?.ended(end);
    expect(log).toEqual(["ledger attempted 200", "policy attempted 200", "ledger ended completed", "policy ended completed"]);
    expect(errors).toEqual([expect.objectContaining({ requestId: "r1", event: "attempted" }), expect.objectContaining({ requestId: "r1", event: "ended" })]);
  });

  it("a subscriber whose begin throws is left out of that request only", () => {
    const log: string[] = [];
    const { logger, errors } = recordingLogger();
    let calls = 0;
    const flaky: RequestObserver = {
      begin: () => {
        if (calls++ === 0) throw new Error("no span today");
        return { ended: () => void log.push("flaky ended") };
      },
    };
    const observer = combineObservers([flaky, recorder(log, "ledger")], logger);
    observer.begin(start)?.ended(end);
    observer.begin({ ...start, requestId: "r2" })?.ended(end);
    expect(log).toEqual(["ledger ended completed", "flaky ended", "ledger ended completed"]);
    expect(errors).toEqual([expect.objectContaining({ event: "begin", requestId: "r1" })]);
  });

  it("passes ended on once, and nothing after it", () => {
    const log: string[] = [];
    const listener = combineObservers([recorder(log, "ledger")], recordingLogger().logger).begin(start);
    listener?.ended(end);
    listener?.ended({ ...end, outcome: "upstream_failed" });
    listener?.attempted?.({ attempt: 2, model: "gpt-5", status: 500, serverAddress: undefined, retried: false });
    expect(log).toEqual(["ledger ended completed"]);
  });

  it("a request nobody listens to gets no listener; an event nobody listens to is skipped", () => {
    const none = combineObservers([{ begin: () => undefined }], recordingLogger().logger);
    expect(none.begin(start)).toBeUndefined();
    const log: string[] = [];
    const listener = combineObservers([recorder(log, "ledger")], recordingLogger().logger).begin(start);
    // The recorder has no firstByte: calling it is harmless and reaches nobody.
    listener?.firstByte?.(5);
    listener?.ended(end);
    expect(log).toEqual(["ledger ended completed"]);
  });
});

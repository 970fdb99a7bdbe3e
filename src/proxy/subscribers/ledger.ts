import type { LedgerSink } from "../../ledger/index.ts";
import type { RequestListener, RequestObserver } from "../observer.ts";

/**
 * Writes each request's one ledger row as it ends. Requests nobody can be charged for
 * (refused before or at authentication) end without a row and are skipped: /metrics
 * counts them. One listener serves every request: it keeps no per-request state.
 */
export function ledgerSubscriber(ledger: LedgerSink): RequestObserver {
  const listener: RequestListener = {
    ended(end) {
      if (end.row) ledger.record(end.row);
    },
  };
  return { begin: () => listener };
}

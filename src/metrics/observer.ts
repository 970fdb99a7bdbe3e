import type { RequestListener, RequestObserver } from "../proxy/index.ts";
import type { MetricsRegistry } from "./registry.ts";

/**
 * Feeds /metrics from every request's end, refusals included: a request with a ledger row
 * is counted with its usage and timings; one refused before anyone could be charged (a
 * refused method, a bad or missing token) is counted as a request and a denial of its
 * provider. One listener per provider, built on first use: no allocation per request.
 */
export function metricsSubscriber(registry: MetricsRegistry): RequestObserver {
  const byProvider = new Map<string, RequestListener>();
  return {
    begin(request) {
      const provider = request.provider.id;
      let listener = byProvider.get(provider);
      if (!listener) {
        listener = {
          attempted(attempt) {
            if (attempt.keyName !== undefined) registry.observeKeyAttempt(provider, attempt.keyName, attempt.status);
          },
          ended(end) {
            if (end.row) registry.observe(end.row);
            else registry.observeUnattributed(provider, end.outcome, end.status, end.errorCode);
          },
        };
        byProvider.set(provider, listener);
      }
      return listener;
    },
  };
}

import { metricLines, type MetricsRegistry } from "../metrics/index.ts";
import type { BatchedLedgerWriter } from "../ledger/index.ts";
import type { CallerConcurrencyLimiter } from "../proxy/index.ts";
import type { StoreHealth } from "../store/health.ts";
import type { RunningAlerts } from "../alerts/index.ts";

/** /metrics series every runtime has: the ledger's queue, spool and losses, the store, the per-caller cap. */
export function registerGatewayGauges(metrics: MetricsRegistry, parts: { ledger: BatchedLedgerWriter; storeHealth: StoreHealth; concurrency: CallerConcurrencyLimiter }): void {
  const { ledger, storeHealth, concurrency } = parts;
  metrics.addCollector((out) => {
    const stats = ledger.stats();
    metricLines(out, "gatehouse_ledger_queued_rows", "gauge", "Ledger rows waiting in memory for the store.", stats.queued);
    metricLines(out, "gatehouse_ledger_spooled_rows", "gauge", "Ledger rows waiting in the spool on disk (<data dir>/ledger-spool).", stats.spooled);
    metricLines(out, "gatehouse_ledger_dropped_rows_total", "counter", "Ledger rows lost: memory and spool full, or the disk failed.", stats.dropped);
    metricLines(out, "gatehouse_ledger_failed_writes_total", "counter", "Ledger inserts the store refused or did not answer.", stats.failedWrites);
    metricLines(out, "gatehouse_store_up", "gauge", "1 while the store answers, 0 while it is down.", storeHealth.up ? 1 : 0);
  });
  metrics.gauge("gatehouse_caller_concurrency_limit", "Upstream requests one caller may have in flight (GATEHOUSE_MAX_CONCURRENT_PER_CALLER).", () => concurrency.limitPerCaller);
  metrics.gauge("gatehouse_caller_concurrency_active_callers", "Callers with at least one upstream request in flight.", () => concurrency.activeCallers);
  metrics.gauge("gatehouse_caller_concurrency_saturated_callers", "Callers at their concurrency cap right now.", () => concurrency.saturatedCallers);
  metrics.gauge("gatehouse_caller_concurrency_refused_total", "Requests refused with 429 by the per-caller concurrency cap.", () => concurrency.refused, "counter");
}

/** What this instance's alert sender did (docs/governance.md#alerts); the outbox table holds every row's state. */
export function registerAlertMetrics(metrics: MetricsRegistry, alerts: RunningAlerts): void {
  metrics.addCollector((out) => {
    const stats = alerts.sender.stats();
    metricLines(out, "gatehouse_alerts_delivered_total", "counter", "Alert webhook deliveries a receiver accepted (2xx), by this instance.", stats.delivered);
    metricLines(out, "gatehouse_alerts_retried_total", "counter", "Alert delivery attempts that failed and will be retried with backoff.", stats.retried);
    metricLines(out, "gatehouse_alerts_failed_total", "counter", "Alert deliveries given up (attempts used up, refused with 3xx/4xx, or the webhook removed); recorded in alert_outbox.", stats.failed);
    metricLines(out, "gatehouse_alerts_unstored_total", "counter", "Alert events the store did not take (not in the outbox).", alerts.emitter.unstored);
  });
}

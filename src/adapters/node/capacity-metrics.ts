import type { MetricsRegistry } from "../../metrics/index.ts";
import type { CallerConcurrencyLimiter } from "../../proxy/index.ts";
import type { NodeTransport } from "./transport.ts";

/**
 * /metrics gauges for shared capacity: the upstream keep-alive pool (saturated while
 * requests queue for a socket) and the per-caller concurrency cap. Read at scrape time.
 */
export function registerCapacityMetrics(metrics: MetricsRegistry, transport: NodeTransport, concurrency: CallerConcurrencyLimiter): void {
  metrics.gauge("gatehouse_upstream_inflight", "Upstream requests forwarded and not yet ended.", () => transport.poolStats().inFlight);
  metrics.gauge("gatehouse_upstream_pool_max_sockets", "Upstream connections allowed per provider origin (GATEHOUSE_UPSTREAM_MAX_SOCKETS).", () => transport.poolStats().maxSocketsPerOrigin);
  metrics.gauge("gatehouse_upstream_pool_sockets", "Upstream connections, by state (active: carrying a request; free: idle keep-alive).", () => {
    const stats = transport.poolStats();
    return [
      ['state="active"', stats.activeSockets],
      ['state="free"', stats.freeSockets],
    ];
  });
  metrics.gauge("gatehouse_upstream_pool_queued", "Requests waiting for an upstream connection: above 0 the pool is saturated.", () => transport.poolStats().queuedRequests);
  metrics.gauge("gatehouse_caller_concurrency_limit", "Upstream requests one caller may have in flight (GATEHOUSE_MAX_CONCURRENT_PER_CALLER).", () => concurrency.limitPerCaller);
  metrics.gauge("gatehouse_caller_concurrency_active_callers", "Callers with at least one upstream request in flight.", () => concurrency.activeCallers);
  metrics.gauge("gatehouse_caller_concurrency_saturated_callers", "Callers at their concurrency cap right now.", () => concurrency.saturatedCallers);
  metrics.gauge("gatehouse_caller_concurrency_refused_total", "Requests refused with 429 by the per-caller concurrency cap.", () => concurrency.refused, "counter");
}

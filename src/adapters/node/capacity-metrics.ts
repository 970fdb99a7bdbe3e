import type { MetricsRegistry } from "../../metrics/index.ts";
import type { NodeTransport } from "./transport.ts";

/**
 * /metrics gauges for the upstream keep-alive pool of the node:http transport (saturated
 * while requests queue for a socket). Read at scrape time. The per-caller cap's gauges are
 * every runtime's (src/gateway/gauges.ts).
 */
export function registerCapacityMetrics(metrics: MetricsRegistry, transport: NodeTransport): void {
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
}

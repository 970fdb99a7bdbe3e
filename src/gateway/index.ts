/**
 * The gateway's one composition: what every runtime mounts, built from what only the runtime
 * can give (store, transport, timers, shared counters, assets). Runtime-neutral: Web APIs only,
 * no node: imports; adapters/node and adapters/workers call it.
 */
export { composeGateway, GATEWAY_MODULES } from "./compose.ts";
export type { ComposedGateway, GatewayGovernance, GatewayParts } from "./compose.ts";
export { DisposerStack } from "./disposers.ts";
export type { Disposer, DisposeFailure } from "./disposers.ts";
export type { ReconcileLoop, RunningGovernance, Timers } from "./governance.ts";

/** One-URL setup: `/.well-known/opencode` serves auth and shared config to the OpenCode client. */
export { createDiscoveryModule } from "./module.ts";
export type { DiscoveryOptions } from "./module.ts";
export { buildWellKnown, loginCommand } from "./build.ts";
export type { WellKnownOpencode } from "./build.ts";
export type { ModelLister, CatalogModelInfo } from "./catalog-port.ts";

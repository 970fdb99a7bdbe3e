export { providers, providerById } from "./registry.ts";
export type { ProviderDescriptor, RequestShape, KeyPlacement, JsonObject } from "./types.ts";

export { providers, providerById } from "./registry.ts";
export { PROVIDER_IDS, isProviderId, ENABLEABLE_OBJECT_KINDS, type ProviderId } from "./ids.ts";
export { classify, unmeteredEndpoint, matchEndpoint, shapeOf, checkedQuery, PASS_THROUGH_SPEC, type EndpointMatch, type PassThroughEntry } from "./endpoints.ts";
export { setEndUser } from "./end-user.ts";
export type { ProviderDescriptor, RequestShape, KeyPlacement, JsonObject, EndpointSpec, EndpointMethod, ObjectKind, ObjectAction, EndUserField } from "./types.ts";

export { providers, providerById } from "./registry.ts";
export { PROVIDER_IDS, isProviderId, ENABLEABLE_OBJECT_KINDS, type ProviderId } from "./ids.ts";
export { classify, unmeteredEndpoint, matchEndpoint, shapeOf, checkedQuery, PASS_THROUGH_SPEC, type EndpointMatch, type PassThroughEntry } from "./endpoints.ts";
export { setEndUser } from "./end-user.ts";
export { AWS_REGION } from "./bedrock.ts";
export { GCP_LOCATION, GCP_PROJECT } from "./vertex.ts";
export { cachedCredentials, createSigV4Signer, type AwsCredentials, type AwsCredentialSource, type OutgoingRequest } from "./aws-sigv4.ts";
export { createServiceAccountTokens, parseServiceAccountKey, CLOUD_PLATFORM_SCOPE, type ServiceAccountKey } from "./google-oauth.ts";
export type { ProviderDescriptor, RequestShape, KeyPlacement, UpstreamAuthKind, CloudAccount, CloudUpstream, JsonObject, EndpointSpec, EndpointMethod, ObjectKind, ObjectAction, EndUserField } from "./types.ts";

export { orgConfigSchema, providerIdSchema, modelPriceSchema, upstreamProviderSchema } from "./schema.ts";
export type { OrgConfig, ProviderId, UpstreamProviderConfig } from "./schema.ts";
export { ConfigHolder } from "./holder.ts";

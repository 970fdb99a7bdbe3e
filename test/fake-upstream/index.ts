/**
 * Fake Anthropic, OpenAI and Gemini APIs for tests and benchmarks: one HTTP server that
 * answers on the providers' real paths in their exact wire formats (see README.md).
 */
export { startFakeUpstream, defaultKeys } from "./server.ts";
export { defaultUsage } from "./usage.ts";
export { defaultText } from "./content.ts";
export type { Behaviour, BehaviourError, FakeUpstream, FakeUpstreamOptions, NeutralUsage, ProviderKeys, RecordedRequest } from "./types.ts";

export { createProxyModule } from "./module.ts";
export type { ProxyServices } from "./handler.ts";
export type { ProxyTransport, IncomingHead, UpstreamRequest, ResponseTap, ForwardOptions, ChunkTransform, RetrySignal } from "./transport.ts";
export { isRetrySignal } from "./transport.ts";
export type { ProxyPolicy, Admission, AdmissionRequest } from "./policy.ts";
export { allowAllPolicy } from "./policy.ts";
export { forwardRequestHeaders, filterResponseHeaders } from "./headers.ts";
export { upstreamUrl } from "./url.ts";
export { createResponsesSocketSession, type RelaySession, type SocketPeer } from "./responses-websocket.ts";

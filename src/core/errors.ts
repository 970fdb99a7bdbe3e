/**
 * One error shape for the whole gateway: `{ error: { code, message, requestId } }`.
 * Provider routes translate a GatewayError into the provider's own error body (see
 * providers/registry) so each client's SDK understands it.
 */
export type ErrorCode =
  | "unauthenticated"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "bad_request"
  | "conflict"
  | "unsupported_media_type"
  | "payload_too_large"
  | "request_timeout"
  | "rate_limited"
  | "budget_exceeded"
  | "upstream_unavailable"
  | "upstream_timeout"
  | "not_configured"
  | "store_unavailable"
  | "internal";

const statusByCode: Record<ErrorCode, number> = {
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  bad_request: 400,
  // The admin API: a name that exists already.
  conflict: 409,
  unsupported_media_type: 415,
  payload_too_large: 413,
  request_timeout: 408,
  rate_limited: 429,
  budget_exceeded: 429,
  upstream_unavailable: 502,
  upstream_timeout: 504,
  not_configured: 503,
  // The gateway's own store (budgets, rate limits, identities) cannot be reached: retry later.
  store_unavailable: 503,
  internal: 500,
};

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds a client should wait before retrying (sent as `retry-after`). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: { retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "GatewayError";
    this.code = code;
    this.status = statusByCode[code];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId: string };
}

export function errorBody(error: GatewayError, requestId: string): ErrorBody {
  return { error: { code: error.code, message: error.message, requestId } };
}

/** Anything thrown that is not a GatewayError becomes an opaque internal error: its text may hold secrets. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError("internal", "Internal gateway error.", { cause: err });
}

import type { BodyCaptureConfig, OrgConfig } from "../../config/index.ts";
import type { SecretSource } from "../../core/deps.ts";
import { isProviderId, providerById, type RequestShape } from "../../providers/index.ts";
import type { Admission } from "../policy.ts";
import { upstreamSecretValues } from "../upstream-auth.ts";
import type { RequestListener, RequestObserver, RequestStart } from "../observer.ts";
import type { CaptureSink, CapturedPart } from "./capture-writer.ts";

/**
 * Extra bytes kept past the cap until redaction: a secret that straddles the cap is then
 * seen whole by the patterns before the text is cut (docs/dashboard.md#body-capture).
 */
export const REDACTION_MARGIN_BYTES = 512;

export interface CaptureSubscriberOptions {
  config: { current(): OrgConfig };
  sink: CaptureSink;
  /**
   * Whether zero data retention applies to this request (any model it may call, or the
   * provider): such requests are never captured, whatever `bodyCapture` says.
   */
  zeroDataRetention(providerId: string, shape: RequestShape | undefined, models: readonly (string | undefined)[]): boolean;
}

/** `bodyCapture.retentionHours`' default (config/capture-schema.ts; capture.test.ts checks they agree): what kept rows expire by once the key is gone. */
export const DEFAULT_RETENTION_HOURS = 72;

/** How long captured bodies are kept, in ms. */
export function captureRetentionMs(capture: BodyCaptureConfig | undefined): number {
  return (capture?.retentionHours ?? DEFAULT_RETENTION_HOURS) * 3_600_000;
}

/** The capture settings of one route, or undefined when its bodies are not captured. */
export function captureSettingsFor(capture: BodyCaptureConfig | undefined, providerId: string): { maxBytes: number } | undefined {
  if (!capture) return undefined;
  const route = (capture.routes as Record<string, { enabled?: boolean | undefined; maxBodyBytes?: number | undefined } | undefined>)[providerId];
  const enabled = route?.enabled ?? capture.enabled;
  if (!enabled) return undefined;
  return { maxBytes: route?.maxBodyBytes ?? capture.maxBodyBytes };
}

/**
 * Body capture for the request log. Off (no listener at all, so no per-chunk work) unless
 * `bodyCapture` enables the request's route. A capturing listener copies the head of the
 * request body as it leaves and of the response as its chunks pass to the client (at most
 * the cap and a margin each: bounded memory, nothing held back or awaited), and hands both
 * to the sink at the end; redaction and the store happen there, off the request path.
 * Only admitted requests that no zero data retention rule covers are captured.
 */
export function captureSubscriber(options: CaptureSubscriberOptions): RequestObserver {
  return {
    begin(request) {
      const settings = captureSettingsFor(options.config.current().bodyCapture, request.provider.id);
      return settings ? new CaptureListener(request, settings.maxBytes, options) : undefined;
    },
  };
}

/** The first `limit` bytes of a stream of chunks, copied (the transport may reuse its buffers), and the total. */
class HeadBuffer {
  private readonly chunks: Uint8Array[] = [];
  private kept = 0;
  total = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Uint8Array): void {
    this.total += chunk.byteLength;
    const room = this.limit - this.kept;
    if (room <= 0) return;
    const part = chunk.byteLength <= room ? chunk.slice() : chunk.slice(0, room);
    this.chunks.push(part);
    this.kept += part.byteLength;
  }

  part(): CapturedPart {
    const head = new Uint8Array(this.kept);
    let at = 0;
    for (const c of this.chunks) {
      head.set(c, at);
      at += c.byteLength;
    }
    return { head, total: this.total };
  }
}

class CaptureListener implements RequestListener {
  private shape: RequestShape | undefined;
  private admitted_ = false;
  private zdr = false;
  private request: HeadBuffer | undefined;
  private readonly response: HeadBuffer;

  constructor(
    private readonly start: RequestStart,
    private readonly maxBytes: number,
    private readonly options: CaptureSubscriberOptions,
  ) {
    this.response = new HeadBuffer(maxBytes + REDACTION_MARGIN_BYTES);
  }

  classified(shape: RequestShape): void {
    this.shape = shape;
  }

  admitted(admission: Admission): void {
    const models = [this.shape?.model, ...(admission.route ? [admission.route.model, ...admission.route.fallbacks] : [])];
    // Fail closed: a check that throws counts as zero data retention.
    try {
      this.zdr = this.options.zeroDataRetention(this.start.provider.id, this.shape, models);
    } catch (err) {
      this.zdr = true;
      throw err;
    }
    this.admitted_ = true;
  }

  requestBody(body: Uint8Array): void {
    if (!this.admitted_ || this.zdr || this.request) return;
    this.request = new HeadBuffer(this.maxBytes + REDACTION_MARGIN_BYTES);
    this.request.push(body);
  }

  responseChunk(chunk: Uint8Array): void {
    if (!this.admitted_ || this.zdr) return;
    this.response.push(chunk);
  }

  ended(): void {
    if (!this.admitted_ || this.zdr) return;
    this.options.sink.enqueue({ requestId: this.start.requestId, ts: this.start.ts, maxBytes: this.maxBytes, request: this.request?.part(), response: this.response.part() });
  }
}

const keysByConfig = new WeakMap<OrgConfig, readonly string[]>();

/** The provider keys the gateway injects for the configured routes: redacted from captured bodies wherever they appear. */
export function configuredProviderKeys(config: OrgConfig, secrets: SecretSource): readonly string[] {
  let keys = keysByConfig.get(config);
  if (!keys) {
    const found = new Set<string>();
    for (const [id, route] of Object.entries(config.providers)) {
      if (!isProviderId(id)) continue;
      const provider = providerById(id);
      for (const value of upstreamSecretValues(provider, route?.apiKeyEnv ?? provider.defaultApiKeyEnv, secrets)) found.add(value);
      // Every key of a key pool goes upstream on some request.
      for (const key of route?.keys ?? []) {
        const value = secrets.get(key.env);
        if (value) found.add(value);
      }
      // A route via Cloudflare AI Gateway also sends the gateway's token.
      const tokenEnv = route?.via?.cloudflareAiGateway?.tokenEnv;
      const token = tokenEnv === undefined ? undefined : secrets.get(tokenEnv);
      if (token) found.add(token);
    }
    keys = [...found];
    keysByConfig.set(config, keys);
  }
  return keys;
}

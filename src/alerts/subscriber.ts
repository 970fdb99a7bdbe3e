import type { Caller } from "../core/caller.ts";
import type { Clock } from "../core/clock.ts";
import type { RequestEnd, RequestListener, RequestObserver, RequestStart } from "../proxy/index.ts";
import { DENIAL_REASONS, type AlertEmitter } from "./emitter.ts";

/**
 * The proxy-observer subscriber for request.denied: a request refused before forwarding for
 * its budget, rate limit or policy. No listener at all (nothing per request) unless a webhook
 * takes denials.
 */
export function denialSubscriber(emitter: AlertEmitter, clock: Clock): RequestObserver {
  return {
    begin: (request) => (emitter.wants("request.denied") ? new DenialListener(emitter, clock, request) : undefined),
  };
}

class DenialListener implements RequestListener {
  private caller: Caller | undefined;

  constructor(
    private readonly emitter: AlertEmitter,
    private readonly clock: Clock,
    private readonly request: RequestStart,
  ) {}

  identified(caller: Caller): void {
    this.caller = caller;
  }

  ended(end: RequestEnd): void {
    const caller = this.caller;
    if (!caller || end.outcome !== "not_forwarded" || end.errorCode === null || !DENIAL_REASONS.has(end.errorCode)) return;
    this.emitter.denied({ reason: end.errorCode, status: end.status, message: end.error?.message, caller, provider: this.request.provider.id, model: end.row?.model || undefined }, this.clock.now());
  }
}

import type { AlertKind } from "../config/policy-schema.ts";

/** A value of an event's data: what JSON and a Slack field can both show. */
export type AlertValue = string | number | boolean | null | readonly string[];

/**
 * One alert, as stored in the outbox and sent to every webhook that takes its type. `id` is
 * the idempotency key: the same on every attempt and to every receiver.
 */
export interface AlertEvent {
  id: string;
  type: AlertKind;
  /** Epoch ms when it happened. */
  createdAt: number;
  /** One line a person reads ("group eng's daily budget is at 82% of $500.00"). */
  summary: string;
  data: Readonly<Record<string, AlertValue>>;
}

export function newEventId(): string {
  return `evt_${crypto.randomUUID().replace(/-/g, "")}`;
}

export const ALERT_TITLES: Readonly<Record<AlertKind, string>> = {
  "budget.threshold": "Budget soft limit reached",
  "request.denied": "Request denied",
  "provider.down": "Provider failing",
  "provider.recovered": "Provider recovered",
};

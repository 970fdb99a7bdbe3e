/**
 * Soft-limit, denial and provider alerts (docs/governance.md#alerts): governance and the proxy
 * report events to the emitter, which writes them to the durable outbox in the store; a
 * background sender delivers them to webhooks (Slack-compatible or signed JSON) with retries.
 * Nothing here runs on a request's path but a map lookup and a queue push.
 */
import type { Kysely } from "kysely";
import type { Clock } from "../core/clock.ts";
import type { SecretSource } from "../core/deps.ts";
import type { Logger } from "../core/logger.ts";
import type { ConfigHolder } from "../config/index.ts";
import type { AlertsConfig } from "../config/policy-schema.ts";
import type { RequestObserver } from "../proxy/index.ts";
import type { Database } from "../store/index.ts";
import { AlertEmitter } from "./emitter.ts";
import { AlertSender, type AlertTimers } from "./sender.ts";
import { denialSubscriber } from "./subscriber.ts";
import { alertsDb } from "./tables.ts";

export { AlertEmitter, DENIAL_REASONS, type Denial } from "./emitter.ts";
export { AlertSender, type AlertSenderOptions, type AlertTimers } from "./sender.ts";
export { denialSubscriber } from "./subscriber.ts";
export { signWebhook, verifyWebhookSignature, SIGNATURE_HEADER, DEFAULT_REPLAY_WINDOW_SECONDS, type SignatureCheck } from "./signature.ts";
export { genericBody, slackBody, bodyFor } from "./formats.ts";
export { enqueue, claimDue, settleDelivery, outboxCounts, type OutboxEntry, type ClaimedDelivery, type DeliveryOutcome } from "./outbox.ts";
export { alertsDb, type AlertTables, type AlertOutboxTable, type OutboxStatus } from "./tables.ts";
export { ALERT_TITLES, newEventId, type AlertEvent, type AlertValue } from "./events.ts";

export interface RunningAlerts {
  emitter: AlertEmitter;
  sender: AlertSender;
  /** The request.denied subscriber for the proxy's observer. */
  observer: RequestObserver;
  /** Writes queued events to the outbox, then stops the sender (attempts in flight become due again). */
  stop(): Promise<void>;
}

/**
 * Alerts for one gateway instance. Needs timers (the sender polls, the emitter writes on the
 * next tick): a runtime without them (Workers) gets undefined and sends no alerts.
 */
export function startAlerts(options: {
  db: Kysely<Database>;
  config: ConfigHolder;
  secrets: SecretSource;
  clock: Clock;
  logger: Logger;
  timers: AlertTimers | undefined;
  /** This instance's name on the outbox rows it leases. */
  instanceId: string;
  pollMs?: number;
  fetchFn?: typeof fetch;
}): RunningAlerts | undefined {
  const { timers } = options;
  if (!timers) return undefined;
  const db = alertsDb(options.db);
  const alerts = (): AlertsConfig | undefined => options.config.current().policy?.alerts;
  const sender = new AlertSender({
    db,
    alerts,
    secrets: options.secrets,
    clock: options.clock,
    logger: options.logger,
    timers,
    owner: options.instanceId,
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
    ...(options.fetchFn ? { fetchFn: options.fetchFn } : {}),
  });
  const emitter = new AlertEmitter({ db, alerts, clock: options.clock, logger: options.logger, timers, onWritten: () => sender.nudge() });
  sender.start();
  return {
    emitter,
    sender,
    observer: denialSubscriber(emitter, options.clock),
    async stop() {
      await emitter.flush();
      await sender.stop();
    },
  };
}

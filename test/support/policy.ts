import type { Caller } from "../../src/core/caller.ts";
import type { Clock } from "../../src/core/clock.ts";
import { ConfigHolder, orgConfigSchema } from "../../src/config/index.ts";
import { blankLedgerRow, type LedgerRow } from "../../src/ledger/index.ts";
import { classify, providerById, type JsonObject } from "../../src/providers/index.ts";
import type { AdmissionRequest } from "../../src/proxy/index.ts";
import type { ProviderId } from "../../src/config/index.ts";
import type { TokenUsage } from "../../src/usage/types.ts";
import type { Pricer } from "../../src/policy/estimate.ts";

/** Test helpers shared by the policy tests (not exported from index.ts). */
export class FixedClock implements Clock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.t;
  }
}

export function holder(raw: unknown): ConfigHolder {
  return new ConfigHolder(orgConfigSchema.parse(raw));
}

export function caller(id: string, groups: string[]): Caller {
  return { id, email: undefined, groups, team: groups[0], tokenId: undefined };
}

/** $1 per million input or output tokens: a cost in USD is tokens / 1e6. */
export const flatPricer: Pricer = (_provider, model, usage: TokenUsage) => (model.startsWith("unpriced") ? undefined : (usage.inputTokens + usage.outputTokens) / 1_000_000);

export function request(providerId: ProviderId, path: string, body: JsonObject | undefined, who: Caller, bodyBytes?: number): AdmissionRequest {
  const provider = providerById(providerId);
  const shape = classify(provider, body ? "POST" : "GET", path, [], body);
  return { caller: who, provider, shape, body, requestId: crypto.randomUUID(), path, bodyBytes: bodyBytes ?? (body ? new TextEncoder().encode(JSON.stringify(body)).byteLength : 0) };
}

export function ledgerRow(over: Partial<LedgerRow>): LedgerRow {
  const row = blankLedgerRow({ request_id: crypto.randomUUID(), ts: 0, day: "1970-01-01", caller_id: "x", team: null, provider: "openai", model: "m", endpoint: "chat", status: 200, outcome: "completed", duration_ms: 1 });
  return { ...row, ...over };
}

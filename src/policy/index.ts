import type { Kysely } from "kysely";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { ConfigHolder } from "../config/index.ts";
import type { Database } from "../store/index.ts";
import { InMemoryCounterStore, type CounterStore } from "./counters.ts";
import type { Pricer } from "./estimate.ts";
import { GovernancePolicy } from "./governance.ts";
import { SlidingWindowRateLimiter, type RateLimiterStore } from "./rate-limit.ts";
import { LedgerReconciler } from "./reconcile.ts";
import type { GovernanceEvents } from "./events.ts";
import type { BudgetOverrideBook } from "./overrides/book.ts";

export { policySchema, groupRuleSchema, budgetSchema, rateLimitSchema, modelPatternSchema, modelRefSchema, defaultDashboardPolicy } from "../config/policy-schema.ts";
export type { PolicyConfig, GroupRule, BudgetLimits, RateLimits, StoreOutagePolicy, AlertsConfig, AlertWebhook, AlertKind } from "../config/policy-schema.ts";
export { storeOutageSchema } from "../config/policy-schema.ts";
export { OutageAwareCounters, OutageAwareRates, storeUnavailable, defaultStoreOutagePolicy } from "./outage.ts";
export { budgetDenial } from "./denial.ts";
export { GovernancePolicy, type GovernanceOptions } from "./governance.ts";
export { InMemoryCounterStore, periodsOf, dayKey, monthKey } from "./counters.ts";
export type { CounterStore, BudgetClaim, Reservation, ReserveOutcome, ReserveRefusal } from "./counters.ts";
export { SlidingWindowRateLimiter } from "./rate-limit.ts";
export type { RateLimiterStore, RateClaim, RateHold, RateOutcome } from "./rate-limit.ts";
export { CircuitBreaker, classifyAttempt, type CircuitListener } from "./breaker.ts";
export type { GovernanceEvents, CircuitChange } from "./events.ts";
export { LedgerReconciler } from "./reconcile.ts";
export { isZdr, zdrRefusal, applyZdr } from "./zdr.ts";
export { estimateRequest, maxOutputTokens, type Pricer, type Estimate } from "./estimate.ts";
export { createMcpAccessPolicy } from "./mcp-access.ts";
export { compileRules, type EffectiveRules } from "./rules.ts";

export interface Governance {
  policy: GovernancePolicy;
  reconciler: LedgerReconciler;
  counters: CounterStore;
  rates: RateLimiterStore;
}

/**
 * Everything governance needs for one gateway process. Pass your own `counters` (a shared
 * store) when several instances enforce one budget.
 */
export function createGovernance(options: {
  config: ConfigHolder;
  clock: Clock;
  db: Kysely<Database>;
  logger: Logger;
  pricer: Pricer;
  counters?: CounterStore | undefined;
  rates?: RateLimiterStore | undefined;
  overrides?: BudgetOverrideBook | undefined;
  events?: GovernanceEvents | undefined;
}): Governance {
  const counters = options.counters ?? new InMemoryCounterStore();
  const rates = options.rates ?? new SlidingWindowRateLimiter();
  const reconciler = new LedgerReconciler(options.db, counters, rates, options.clock, options.logger, options.overrides);
  const policy = new GovernancePolicy({ config: options.config, clock: options.clock, pricer: options.pricer, counters, rates, onMembership: reconciler.noteMembership, overrides: options.overrides, events: options.events });
  return { policy, reconciler, counters, rates };
}

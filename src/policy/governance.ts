import type { Caller } from "../core/caller.ts";
import type { Clock } from "../core/clock.ts";
import { GatewayError } from "../core/errors.ts";
import type { ConfigHolder } from "../config/index.ts";
import type { LedgerRow } from "../ledger/index.ts";
import type { Admission, AdmissionRequest, ProxyPolicy, RouteTarget } from "../proxy/index.ts";
import type { PolicyConfig } from "../config/policy-schema.ts";
import { CircuitBreaker, classifyAttempt } from "./breaker.ts";
import { dayKey, monthKey, periodsOf, type BudgetClaim, type CounterStore, type Reservation } from "./counters.ts";
import { budgetDenial } from "./denial.ts";
import { bodySize, estimateRequest, tokensOf, type Pricer } from "./estimate.ts";
import { matchesAny } from "./glob.ts";
import type { RateClaim, RateHold, RateLimiterStore } from "./rate-limit.ts";
import { resolveRoute } from "./routing.ts";
import { assertServiceAccountScope, hasOwnLimits, serviceAccountAllowsModel, tighter, userLabel } from "./service-account-scope.ts";
import { RulesCache, type EffectiveRules } from "./rules.ts";
import { anyZdr, applyZdr, isZdr, zdrRefusal } from "./zdr.ts";
import type { GovernanceEvents } from "./events.ts";
import type { BudgetOverrideBook } from "./overrides/book.ts";
import type { BudgetPeriod } from "./overrides/types.ts";

export interface GovernanceOptions {
  config: ConfigHolder;
  clock: Clock;
  pricer: Pricer;
  counters: CounterStore;
  rates: RateLimiterStore;
  /** Called with callers whose groups matter for group budgets, so the reconciler can attribute ledger spend. */
  onMembership?: (callerId: string, groups: readonly string[]) => void;
  /** Budget overrides and resets in force (policy/overrides); absent = the configured limits as they are. */
  overrides?: BudgetOverrideBook | undefined;
  /** Soft-limit crossings and circuit changes, for alerts; absent = nobody is told. */
  events?: GovernanceEvents | undefined;
}

const noop = (): void => undefined;

/**
 * The ProxyPolicy: permissions, zero data retention, alias routing, rate limits and budget
 * reservations, all decided from memory. Reads `config.current()` on every request, so a
 * reloaded policy applies to the next request without a restart.
 */
export class GovernancePolicy implements ProxyPolicy {
  readonly breaker: CircuitBreaker;
  private readonly rules = new RulesCache();

  constructor(private readonly options: GovernanceOptions) {
    const events = options.events;
    this.breaker = new CircuitBreaker(() => options.config.current().policy?.circuitBreaker ?? { failureThreshold: 5, openSeconds: 30 }, events ? (change) => events.circuitChanged(change) : undefined);
  }

  async admit(request: AdmissionRequest): Promise<Admission> {
    const { caller, provider, shape, body } = request;
    const config = this.options.config.current();
    const policy = config.policy;
    const now = this.options.clock.now();
    const providerId = provider.id;
    assertServiceAccountScope(caller, provider, shape, policy);

    const rules = policy ? this.rulesFor(policy, caller) : undefined;
    const allowedOn = (targetId: string, model: string): boolean => (!rules || matchesAny(rules.modelPatterns, `${targetId}/${model}`)) && serviceAccountAllowsModel(caller, `${targetId}/${model}`);
    // Another provider of the chain is reached by this caller too: a service account's routes must name it.
    const routeAllowed = (targetId: string): boolean => targetId === providerId || !caller.serviceAccount || caller.serviceAccount.routes.includes("*") || caller.serviceAccount.routes.includes(targetId);
    const filter = { allowed: (targetId: string, model: string) => routeAllowed(targetId) && allowedOn(targetId, model), configured: (targetId: string) => (config.providers as Record<string, unknown>)[targetId] !== undefined };

    // Routing first: permissions, ZDR and the estimate apply to the models that will really be called, on the provider each is called on.
    const resolved = resolveRoute(policy, provider, shape, filter, this.breaker, now);
    if (resolved === "none_allowed") throw new GatewayError("forbidden", `None of the models behind "${shape.model ?? ""}" on ${provider.displayName} is allowed for your groups.`);
    let chain: readonly RouteTarget[] = resolved ? resolved.chain : shape.model !== undefined ? [{ provider, model: shape.model }] : [];
    if (rules) {
      if (chain.length === 0 && !providerAllowed(rules, providerId)) throw new GatewayError("forbidden", `Your groups may not use ${provider.displayName} on this gateway.`);
      for (const t of chain) if (!filter.allowed(t.provider.id, t.model)) throw new GatewayError("forbidden", `Model ${t.provider.id}/${t.model} is not allowed for your groups.`);
    }

    let bodyChanged = false;
    const zdrOf = (t: RouteTarget): boolean => isZdr(config, t.provider.id, t.model);
    const zdr = shape.object ? anyZdr(config, providerId) : chain.length === 0 ? isZdr(config, providerId, undefined) : chain.some(zdrOf);
    if (zdr) {
      // A request zero data retention applies to is served under it: it never falls back to another provider's model that is not ZDR.
      const kept = chain.filter((t) => t.provider.id === providerId || zdrOf(t));
      if (chain.length > 0 && kept.length === 0)
        throw new GatewayError("forbidden", `The models behind "${shape.model ?? ""}" are zero data retention, and none of them on ${provider.displayName} is usable for you: a fallback to a provider without zero data retention is not made.`);
      chain = kept;
      const refusal = zdrRefusal(shape, body);
      if (refusal) throw new GatewayError("forbidden", refusal);
      bodyChanged = applyZdr(shape, body);
    }
    const [first, ...rest] = chain;

    const admission: Admission = {
      bodyChanged,
      route: resolved && first ? { model: first.model, fallbacks: rest.map((t) => t.model), chain } : undefined,
      recordAttempt: (model, status, targetId) => this.breaker.record(`${targetId ?? providerId}/${model}`, classifyAttempt(status, status === 0 ? "upstream_failed" : "completed"), this.options.clock.now()),
      settle: noop,
    };
    if (!policy || !rules || (!hasLimits(rules) && !(caller.serviceAccount && hasOwnLimits(caller.serviceAccount.limits)))) return admission;

    // A batch carries many requests the gateway does not meter one by one: under a budget or
    // rate limit it cannot be held to them, so it is refused (docs/security.md).
    if (shape.object?.kind === "batches" && shape.object.action === "create") {
      throw new GatewayError("forbidden", `Batches are not metered request by request, so callers with a budget or rate limit cannot create them on this gateway. Send the requests one by one, or ask an administrator.`);
    }

    const budgetClaims = this.budgetClaims(caller, rules, now);
    // One estimate, priced on the dearest model the request may end up on.
    const bytes = request.bodyBytes ?? bodySize(body);
    let estimateUsd = 0;
    let estimateTokens = 0;
    // Each target priced at its own provider's price (Bedrock's and Vertex AI's catalogs for a cross-provider fallback): the worst case is reserved.
    for (const { targetId, model } of chain.length > 0 ? chain.map((t) => ({ targetId: t.provider.id, model: t.model })) : [{ targetId: providerId, model: undefined }]) {
      const e = estimateRequest(policy.estimate, targetId, model, body, bytes, this.options.pricer);
      estimateTokens = Math.max(estimateTokens, e.inputTokens + e.outputTokens);
      estimateUsd = Math.max(estimateUsd, e.costUsd ?? 0);
      // A budget cannot hold what it cannot price: an unpriced model on a metered endpoint is refused unless the org allows it.
      if (shape.metered && e.costUsd === undefined && policy.unpriced === "deny" && budgetClaims.length > 0) {
        throw new GatewayError("forbidden", `Model ${targetId}/${model ?? "(none)"} has no price on this gateway, so your budget cannot be enforced for it. Ask an administrator to add it under pricing: in gatehouse.yaml, or to set policy.unpriced: allow.`);
      }
    }

    const rateClaims = this.rateClaims(caller, rules, estimateTokens);
    let holds: RateHold[] = [];
    if (rateClaims.length > 0) {
      const pending = this.options.rates.take(rateClaims, now);
      // Only a shared store (another instance's windows) is awaited; in memory stays synchronous.
      const taken = "then" in pending ? await pending : pending;
      if (!taken.ok) throw new GatewayError("rate_limited", `Rate limit reached: ${taken.claim.label} (${taken.claim.limit}). Retry in ${taken.retryAfterSeconds}s.`, { retryAfterSeconds: taken.retryAfterSeconds });
      holds = taken.holds;
    }

    let reservation: Reservation | undefined;
    if (budgetClaims.length > 0) {
      if (rules.groupBudgets.length > 0) (this.options.onMembership ?? noop)(caller.id, rules.groups);
      let outcome: Awaited<ReturnType<CounterStore["reserve"]>>;
      try {
        outcome = await this.options.counters.reserve(budgetClaims, estimateUsd, request.requestId);
      } catch (err) {
        // A store outage refuses the request (policy.storeOutage): its rate holds are given back.
        this.options.rates.release(holds);
        throw err;
      }
      if (!outcome.ok) {
        this.options.rates.release(holds);
        // Worded for the cause: spent, or held by reservations in flight (see denial.ts).
        throw budgetDenial(outcome, estimateUsd, now);
      }
      reservation = outcome.reservation;
    }

    let settled = false;
    admission.settle = (row: LedgerRow) => {
      if (settled) return;
      settled = true;
      if (reservation) {
        const settledOnce = this.options.counters.settle(reservation, row.cost_usd ?? 0);
        const events = this.options.events;
        if (events && budgetClaims.some((c) => c.warnAt !== undefined)) {
          // Checked once the counters hold the real cost (a shared store's settle is a round trip); never awaited by the request.
          const check = () => this.checkThresholds(events, budgetClaims, caller);
          if (settledOnce && typeof settledOnce === "object" && "then" in settledOnce) void settledOnce.then(check, check);
          else check();
        }
      }
      const actualTokens = tokensOf(row);
      for (const hold of holds) if (hold.key.endsWith(":tpm")) this.options.rates.adjust(hold, actualTokens);
    };
    return admission;
  }

  private checkThresholds(events: GovernanceEvents, claims: readonly BudgetClaim[], caller: Caller): void {
    const now = this.options.clock.now();
    for (const claim of claims) {
      if (claim.warnAt === undefined) continue;
      const used = this.options.counters.used(claim.key);
      if (used >= claim.warnAt * claim.limitUsd) events.budgetThreshold({ ...claim, warnAt: claim.warnAt }, used, caller, now);
    }
  }

  /** The effective rules for a caller; throws forbidden when no configured group applies. */
  rulesFor(policy: PolicyConfig, caller: Caller): EffectiveRules {
    const rules = this.rules.get(policy, caller.groups);
    if (rules.groups.length === 0) {
      throw new GatewayError("forbidden", `You are in none of the groups this gateway grants access to${caller.groups.length > 0 ? ` (your groups: ${caller.groups.join(", ")})` : ""}. Ask your platform team.`);
    }
    return rules;
  }

  private rateClaims(caller: Caller, rules: EffectiveRules, tokens: number): RateClaim[] {
    const claims: RateClaim[] = [];
    const add = (scope: string, label: string, rpm: number | undefined, tpm: number | undefined) => {
      if (rpm !== undefined) claims.push({ key: `${scope}:rpm`, limit: rpm, amount: 1, label: `${label} requests per minute` });
      if (tpm !== undefined) claims.push({ key: `${scope}:tpm`, limit: tpm, amount: tokens, label: `${label} tokens per minute` });
    };
    const own = caller.serviceAccount?.limits;
    add(`user:${caller.id}`, userLabel(caller), tighter(rules.userRate.requestsPerMinute, own?.requestsPerMinute), tighter(rules.userRate.tokensPerMinute, own?.tokensPerMinute));
    for (const g of rules.groupRates) add(`group:${g.group}`, `group ${g.group}'s`, g.requestsPerMinute, g.tokensPerMinute);
    return claims;
  }

  private budgetClaims(caller: Caller, rules: EffectiveRules, now: number): BudgetClaim[] {
    const { day, month, dayEndsAt, monthEndsAt } = periodsOf(now);
    const claims: BudgetClaim[] = [];
    const add = (scope: string, label: string, daily: number | undefined, monthly: number | undefined, warnAt: number | undefined) => {
      if (daily !== undefined) claims.push(this.claim(scope, "day", day, daily, dayEndsAt, `${label} daily budget`, warnAt, now));
      if (monthly !== undefined) claims.push(this.claim(scope, "month", month, monthly, monthEndsAt, `${label} monthly budget`, warnAt, now));
    };
    const own = caller.serviceAccount?.limits;
    add(`user:${caller.id}`, userLabel(caller), tighter(rules.userBudget.dailyUsd, own?.dailyUsd), tighter(rules.userBudget.monthlyUsd, own?.monthlyUsd), rules.userBudget.warnAt);
    for (const g of rules.groupBudgets) add(`group:${g.group}`, `group ${g.group}'s`, g.dailyUsd, g.monthlyUsd, g.warnAt);
    return claims;
  }

  /** One budget's claim with the overrides in force at `now` (a raise, a cap, a reset epoch in the key). */
  private claim(scope: string, period: BudgetPeriod, periodKey: string, configuredUsd: number, resetsAt: number, label: string, warnAt: number | undefined, now: number): BudgetClaim {
    const book = this.options.overrides;
    const withWarn = warnAt !== undefined ? { warnAt } : {};
    if (!book) return { key: period === "day" ? dayKey(scope, periodKey) : monthKey(scope, periodKey), limitUsd: configuredUsd, resetsAt, label, ...withWarn };
    const effective = book.effective(scope, period, periodKey, configuredUsd, now);
    return { key: effective.key, limitUsd: effective.limitUsd, resetsAt, label: effective.note ? `${label} (${effective.note})` : label, ...withWarn };
  }
}

function hasLimits(rules: EffectiveRules): boolean {
  const u = rules.userBudget;
  const r = rules.userRate;
  return u.dailyUsd !== undefined || u.monthlyUsd !== undefined || r.requestsPerMinute !== undefined || r.tokensPerMinute !== undefined || rules.groupBudgets.length > 0 || rules.groupRates.length > 0;
}

/** For requests naming no model (model lists, file uploads): any pattern for this provider grants it. */
function providerAllowed(rules: EffectiveRules, providerId: string): boolean {
  return rules.modelPatternText.some((p) => p.startsWith(`${providerId}/`) || p.startsWith("*/"));
}

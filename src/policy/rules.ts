import type { PolicyConfig, GroupRule } from "../config/policy-schema.ts";
import { globToRegExp } from "./glob.ts";

export interface BudgetScope {
  /** Counter key prefix: `user:<id>` or `group:<name>`. */
  key: string;
  /** Human wording for the denial message. */
  label: string;
  dailyUsd: number | undefined;
  monthlyUsd: number | undefined;
  /** Soft limit: the fraction of the limit at which a budget.threshold alert goes out. */
  warnAt: number | undefined;
}

export interface RateScope {
  key: string;
  label: string;
  requestsPerMinute: number | undefined;
  tokensPerMinute: number | undefined;
}

/** What the policy means for one combination of groups, compiled once and cached. */
export interface EffectiveRules {
  /** The configured groups that apply to the caller (their own, or the default group). */
  groups: readonly string[];
  modelPatterns: readonly RegExp[];
  /** The patterns as written, "provider/glob". */
  modelPatternText: readonly string[];
  mcpServers: "all" | ReadonlySet<string>;
  /** warnAt: the lowest any of the caller's groups sets on perUser (the earliest warning wins). */
  userBudget: { dailyUsd: number | undefined; monthlyUsd: number | undefined; warnAt: number | undefined };
  groupBudgets: ReadonlyArray<Omit<BudgetScope, "key" | "label"> & { group: string }>;
  userRate: { requestsPerMinute: number | undefined; tokensPerMinute: number | undefined };
  groupRates: ReadonlyArray<Omit<RateScope, "key" | "label"> & { group: string }>;
}

const maxDefined = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
const minDefined = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/**
 * Grants are a union over the caller's groups: models and MCP servers add up, and for
 * per-user caps the most generous one a group sets wins (a group that sets no cap does
 * not lift another group's cap). Group budgets and rate limits each apply to their pool.
 */
export function compileRules(policy: PolicyConfig, callerGroups: readonly string[]): EffectiveRules {
  let applicable = callerGroups.filter((g) => Object.hasOwn(policy.groups, g));
  if (applicable.length === 0 && policy.defaultGroup !== undefined) applicable = [policy.defaultGroup];
  const rules: GroupRule[] = applicable.map((g) => policy.groups[g]).filter((r): r is GroupRule => r !== undefined);

  const modelPatternText = rules.flatMap((r) => r.models);
  const modelPatterns = modelPatternText.map(globToRegExp);
  let mcpServers: "all" | Set<string> = new Set<string>();
  for (const rule of rules) {
    if (rule.mcpServers.includes("*")) {
      mcpServers = "all";
      break;
    }
    for (const server of rule.mcpServers) mcpServers.add(server);
  }

  const userBudget = { dailyUsd: undefined as number | undefined, monthlyUsd: undefined as number | undefined, warnAt: undefined as number | undefined };
  const userRate = { requestsPerMinute: undefined as number | undefined, tokensPerMinute: undefined as number | undefined };
  const groupBudgets: Array<EffectiveRules["groupBudgets"][number]> = [];
  const groupRates: Array<EffectiveRules["groupRates"][number]> = [];
  applicable.forEach((group, i) => {
    const rule = rules[i];
    if (!rule) return;
    const perUser = rule.budget?.perUser;
    userBudget.dailyUsd = maxDefined(userBudget.dailyUsd, perUser?.dailyUsd);
    userBudget.monthlyUsd = maxDefined(userBudget.monthlyUsd, perUser?.monthlyUsd);
    userBudget.warnAt = minDefined(userBudget.warnAt, perUser?.warnAt);
    const userLimit = rule.rateLimit?.perUser;
    userRate.requestsPerMinute = maxDefined(userRate.requestsPerMinute, userLimit?.requestsPerMinute);
    userRate.tokensPerMinute = maxDefined(userRate.tokensPerMinute, userLimit?.tokensPerMinute);
    const pool = rule.budget?.group;
    if (pool && (pool.dailyUsd !== undefined || pool.monthlyUsd !== undefined)) groupBudgets.push({ group, dailyUsd: pool.dailyUsd, monthlyUsd: pool.monthlyUsd, warnAt: pool.warnAt });
    const poolRate = rule.rateLimit?.group;
    if (poolRate && (poolRate.requestsPerMinute !== undefined || poolRate.tokensPerMinute !== undefined)) {
      groupRates.push({ group, requestsPerMinute: poolRate.requestsPerMinute, tokensPerMinute: poolRate.tokensPerMinute });
    }
  });

  return { groups: applicable, modelPatterns, modelPatternText, mcpServers, userBudget, groupBudgets, userRate, groupRates };
}

/** Caches compiled rules per (policy object, group set); a config reload brings a new policy object. */
export class RulesCache {
  private policy: PolicyConfig | undefined;
  private readonly byGroups = new Map<string, EffectiveRules>();

  get(policy: PolicyConfig, callerGroups: readonly string[]): EffectiveRules {
    if (policy !== this.policy) {
      this.policy = policy;
      this.byGroups.clear();
    }
    const key = callerGroups.join("\u0000");
    let rules = this.byGroups.get(key);
    if (!rules) {
      rules = compileRules(policy, callerGroups);
      // Distinct group combinations are few; the bound only guards against a hostile IdP.
      if (this.byGroups.size > 10_000) this.byGroups.clear();
      this.byGroups.set(key, rules);
    }
    return rules;
  }
}

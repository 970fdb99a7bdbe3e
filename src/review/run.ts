import type { CodexRule } from "../codex/index.ts";
import { rulesForFiles } from "../codex/index.ts";
import type { Clock } from "../core/clock.ts";
import { zeroUsage, type TokenUsage } from "../usage/types.ts";
import { runSpecialist, type SpecialistOutcome } from "./agent.ts";
import type { ReviewConfig, ReviewerName } from "./config.ts";
import { coordinate } from "./coordinator.ts";
import { parseUnifiedDiff } from "./diff.ts";
import type { GitPort } from "./git.ts";
import { filterDiff } from "./intake.ts";
import { judgeFindings, verdictFor } from "./judge.ts";
import { CircuitBreakers } from "./model/breaker.ts";
import { errorText, ReviewNotPerformedError } from "./failure.ts";
import { ModelRouter } from "./model/router.ts";
import type { ChatTransport } from "./model/types.ts";
import { changeUserPrompt, type ChangeContext } from "./prompt.ts";
import { activeFindings, emptyPriorState, reconcile, type PriorState } from "./rereview.ts";
import { droppedSummary, type ReviewResult } from "./result.ts";
import { HeadSource } from "./source.ts";
import { staleClaimsInTree } from "../agents-md/index.ts";
import { specialists, specialistsFor } from "./specialists.ts";
import { decideTier } from "./tier.ts";

/** Prices a model's tokens in USD; undefined when the model has no known price. */
export type Pricer = (ref: string, usage: TokenUsage) => number | undefined;

export interface ReviewInput {
  git: GitPort;
  base: string;
  head: string;
  config: ReviewConfig;
  rules: readonly CodexRule[];
  transport: ChatTransport;
  clock: Clock;
  title?: string | undefined;
  description?: string | undefined;
  prior?: PriorState | undefined;
  pricer?: Pricer | undefined;
  /** Shared across reviews of one process (eval), so a failing model stays skipped. */
  breakers?: CircuitBreakers | undefined;
  onProgress?: ((event: string) => void) | undefined;
}

function chainFor(config: ReviewConfig, reviewer: ReviewerName, trivial: boolean): readonly string[] {
  return config.models.reviewers[reviewer] ?? (trivial ? (config.models.trivial ?? config.models.specialist) : config.models.specialist);
}

async function inBatches<T, R>(items: readonly T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  return results;
}

function sumUsage(usages: readonly TokenUsage[]): TokenUsage {
  const total = zeroUsage();
  for (const u of usages) {
    total.inputTokens += u.inputTokens;
    total.outputTokens += u.outputTokens;
    total.cacheReadTokens += u.cacheReadTokens;
    total.cacheWrite5mTokens += u.cacheWrite5mTokens;
    total.cacheWrite1hTokens += u.cacheWrite1hTokens;
    total.reasoningTokens += u.reasoningTokens;
  }
  return total;
}

/**
 * Runs one review: diff intake → tier → specialists in parallel → judge → (coordinator) →
 * re-review state → verdict. Fails closed: when any reviewer, the judge or the coordinator
 * fails, it throws ReviewNotPerformedError and there is no verdict.
 */
export async function runReview(input: ReviewInput): Promise<ReviewResult> {
  const started = input.clock.monotonic();
  const { config } = input;
  const progress = input.onProgress ?? (() => undefined);
  const headSha = await input.git.revParse(input.head);
  const baseSha = await input.git.mergeBase(await input.git.revParse(input.base), headSha);
  const files = parseUnifiedDiff(await input.git.diff(baseSha, headSha));
  const intake = filterDiff(files, config.ignore);
  const tier = decideTier(intake.kept, config);
  const source = new HeadSource(input.git, headSha);
  const rules = rulesForFiles(
    input.rules,
    intake.kept.map((f) => f.path),
  );
  const agentsMd = await source.read("AGENTS.md");
  const names = intake.kept.length === 0 ? [] : specialistsFor(tier.tier, { codexRules: rules.length, hasAgentsMd: agentsMd !== undefined });
  const breakers = input.breakers ?? new CircuitBreakers(input.clock, config.breaker.failureThreshold, config.breaker.cooldownMs);
  const router = new ModelRouter(input.transport, breakers, config.limits.requestTimeoutMs);
  const context: ChangeContext = { title: input.title ?? "", description: input.description ?? "", tier: tier.tier, files: intake.kept, maxPatchChars: config.limits.maxPatchChars, agentsMd };
  // The AGENTS.md specialist is told which of the file's claims the head commit no longer bears out.
  if (agentsMd !== undefined && names.includes("agents-md"))
    context.agentsMdStale = (
      await staleClaimsInTree(
        agentsMd,
        () => source.list(),
        (path) => source.read(path),
      )
    ).map((f) => `${f.materiality}: ${f.message}`);
  progress(`tier ${tier.tier} (${tier.reason}); reviewers: ${names.join(", ") || "none"}`);

  const outcomes = await inBatches(names, config.limits.parallel, async (name): Promise<SpecialistOutcome> => {
    try {
      const outcome = await runSpecialist({
        specialist: specialists[name],
        chain: chainFor(config, name, tier.tier === "trivial"),
        userPrompt: changeUserPrompt(context, name === "agents-md"),
        rules: name === "codex" ? rules : [],
        router,
        source,
        maxToolSteps: config.limits.maxToolSteps,
        maxTokens: config.limits.maxTokens,
      });
      progress(outcome.error === undefined ? `${name}: ${outcome.findings.length} finding(s)` : `${name}: failed`);
      return outcome;
    } catch (err) {
      // Every model of the chain failed, the gateway refused the token, or the run broke:
      // recorded here so the other reviewers finish, then the whole review fails below.
      progress(`${name}: failed`);
      return { reviewer: name, findings: [], invalidFindings: 0, toolCalls: 0, models: [], error: errorText(err) };
    }
  });
  const failed = outcomes.filter((o) => o.error !== undefined);
  if (failed.length > 0)
    throw new ReviewNotPerformedError(
      failed.map((o) => `the ${o.reviewer} reviewer failed: ${o.error ?? ""}`),
      router.attempts,
    );

  const givenRuleIds = new Set(rules.map((r) => r.id));
  let judged: Awaited<ReturnType<typeof judgeFindings>>;
  try {
    judged = await judgeFindings({ candidates: outcomes.flatMap((o) => o.findings), files: intake.kept, source, givenRuleIds, maxFindings: config.limits.maxFindings });
  } catch (err) {
    throw new ReviewNotPerformedError([`the judge could not verify the findings: ${errorText(err)}`], router.attempts);
  }
  let kept = judged.kept;
  const dropped = droppedSummary(judged.dropped);
  let coordinator: ReviewResult["coordinator"];
  if (config.models.coordinator && kept.length > 0) {
    const outcome = await coordinate(kept, changeUserPrompt({ ...context, maxPatchChars: Math.floor(config.limits.maxPatchChars / 2) }, false), router, config.models.coordinator, config.limits.maxTokens);
    // The coordinator may raise a severity; without it a blocking verdict could pass as an approval.
    if (outcome.error !== undefined) throw new ReviewNotPerformedError([`the coordinator failed: ${outcome.error}`], router.attempts);
    kept = outcome.kept;
    for (const d of outcome.dropped) dropped.push({ path: d.finding.path, line: d.finding.line, title: d.finding.title, reviewers: d.finding.reviewers, reason: "coordinator", detail: d.reason });
    coordinator = { model: outcome.model, summary: outcome.summary, regraded: outcome.regraded };
  }

  const prior = input.prior ?? emptyPriorState();
  const reconciled = reconcile(kept, prior);
  const verdict = prior.breakGlass ? "approved" : verdictFor(activeFindings(reconciled.findings));
  const byModel = router.usage();
  const total = sumUsage(byModel.map((m) => m.usage));
  let costUsd: number | undefined;
  if (input.pricer) {
    const prices = byModel.map((m) => input.pricer?.(m.ref, m.usage));
    costUsd = prices.every((p) => p !== undefined) ? prices.reduce<number>((sum, p) => sum + (p ?? 0), 0) : undefined;
  }
  return {
    baseSha,
    headSha,
    tier,
    reviewedFiles: intake.kept.map((f) => f.path),
    renamedFrom: Object.fromEntries(intake.kept.filter((f) => f.status === "renamed").map((f) => [f.path, f.oldPath])),
    skippedFiles: intake.skipped,
    codexRules: rules.map((r) => r.id),
    reviewers: outcomes.map((o) => ({ reviewer: o.reviewer, models: o.models, findings: o.findings.length, invalidFindings: o.invalidFindings, toolCalls: o.toolCalls })),
    findings: reconciled.findings,
    dropped,
    fixed: reconciled.fixed,
    verdict,
    breakGlass: prior.breakGlass,
    coordinator,
    usage: { byModel, total, costUsd },
    attempts: router.attempts,
    durationMs: Math.round(input.clock.monotonic() - started),
  };
}

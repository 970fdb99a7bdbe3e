import type { CodexRule } from "../codex/index.ts";
import { rulesForFiles } from "../codex/index.ts";
import type { CatalogQueries } from "../knowledge/queries.ts";
import type { StepContext, StepHandler } from "../jobs/index.ts";
import { catalogFacts, type CatalogFacts } from "./catalog.ts";
import { detectRepo, type Detection } from "./detect.ts";
import { knownFacts, parseProse, prosePrompt, ProseCallError, type ProseCost, type ProseWriter } from "./prose.ts";
import { MAX_LINES, readClaims, renderAgentsMd, type Claims } from "./render.ts";
import type { PullRequestOutcome } from "./github-pr.ts";
import type { RepoSnapshot } from "./repo.ts";

export const GENERATE_JOB_KIND = "agents-md.generate";
export const TEMPLATE_WRITER = "template";

/** Where the repositories are and how a file is written: the runtime's part (adapters/node/agents-md). */
export interface RepoAccess {
  snapshot(path: string): Promise<RepoSnapshot>;
  /** Writes `AGENTS.md` at the repo root. */
  writeAgentsMd(path: string, text: string): Promise<void>;
  name(path: string): string;
}

export interface GenerateStepInput {
  path: string;
}

/** Opens or updates the repo's AGENTS.md pull request (GitHub) or merge request (GitLab) instead of writing the checkout. */
export interface AgentsMdPublisher {
  /** The AGENTS.md on the request's branch now (undefined: no branch or no file yet): a rerun with the same facts and writer keeps it. */
  current(path: string): Promise<string | undefined>;
  publish(path: string, text: string): Promise<PullRequestOutcome>;
}

export interface GenerateStepResult {
  path: string;
  pr?: PullRequestOutcome;
  lines: number;
  /** false: the file already had these bytes (a rerun writes nothing). */
  written: boolean;
  ref?: string;
  /** Who wrote the prose of the file as it is now: `template` or the model's ref. */
  writer: string;
  /**
   * template: no model configured; model: the model's prose, validated; kept: the file already
   * had prose by this model for these facts (no call); fallback: the model's answer failed or was
   * refused, the template was written instead (`fallback` says why).
   */
  prose: "template" | "model" | "kept" | "fallback";
  fallback?: string;
  /** The model call's cost and where it was read (the gateway's ledger, or its usage priced). */
  cost?: ProseCost;
}

export async function planAgentsMd(repo: RepoSnapshot, name: string, queries: CatalogQueries, rules: readonly CodexRule[]): Promise<{ text: string; detection: Detection; facts: CatalogFacts | undefined; rules: CodexRule[] }> {
  const detection = detectRepo(repo);
  const facts = detection.catalog ? await catalogFacts(queries, detection.catalog) : undefined;
  const applied = rulesForFiles(rules, repo.files);
  const digest = await factsDigest(renderAgentsMd(name, detection, facts, applied).text);
  const { text } = renderAgentsMd(name, detection, facts, applied, { writer: TEMPLATE_WRITER, facts: digest });
  return { text, detection, facts, rules: applied };
}

/** sha256 (first 16 bytes, hex) of the template's text: every fact the file states, and nothing a model wrote. */
async function factsDigest(template: string): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(template)));
  return [...hash.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function claimsOf(text: string | undefined): Claims | undefined {
  if (text === undefined) return undefined;
  try {
    return readClaims(text);
  } catch (err) {
    // A corrupted claims block is regenerated, not trusted.
    if (err instanceof Error) return undefined;
    throw err;
  }
}

const lineCount = (text: string): number => text.split("\n").length - 1;

/**
 * The file's text: the template, or the model's prose around the template's facts. Fail
 * closed: a model answer that failed, or that parseProse refuses, or that would take the file
 * over the line limit, gives the template (and the reason), never a half-checked file.
 */
async function composeText(
  name: string,
  plan: Awaited<ReturnType<typeof planAgentsMd>>,
  existing: string | undefined,
  writer: ProseWriter | undefined,
  ctx: StepContext,
): Promise<Pick<GenerateStepResult, "writer" | "prose" | "fallback" | "cost"> & { text: string }> {
  if (!writer) return { text: plan.text, writer: TEMPLATE_WRITER, prose: "template" };
  const digest = claimsOf(plan.text)?.facts ?? "";
  const before = claimsOf(existing);
  if (existing !== undefined && before?.writer === writer.model && before.facts === digest) return { text: existing, writer: writer.model, prose: "kept" };
  let cost: ProseCost | undefined;
  let reason: string;
  try {
    const answer = await writer.write(prosePrompt(name, plan.detection, plan.facts, plan.rules), ctx.signal);
    cost = answer.cost;
    ctx.addCost(cost.usd);
    const parsed = parseProse(answer.text, knownFacts(name, plan.detection, plan.facts, plan.rules));
    if ("prose" in parsed) {
      const { text } = renderAgentsMd(name, plan.detection, plan.facts, plan.rules, { prose: parsed.prose, writer: writer.model, facts: digest });
      if (lineCount(text) <= MAX_LINES) return { text, writer: writer.model, prose: "model", cost };
      reason = `with the model's prose the file would have ${lineCount(text)} lines, over the limit of ${MAX_LINES}`;
    } else reason = `the model's answer was refused: ${parsed.error}`;
  } catch (err) {
    // The step was stopped (lease lost, run stopped): not a model failure, let the engine see it.
    if (ctx.signal.aborted) throw err;
    if (err instanceof ProseCallError && err.cost) {
      cost = err.cost;
      ctx.addCost(cost.usd);
    }
    reason = `the model call failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  const result: Pick<GenerateStepResult, "writer" | "prose" | "fallback" | "cost"> & { text: string } = { text: plan.text, writer: TEMPLATE_WRITER, prose: "fallback", fallback: reason };
  if (cost) result.cost = cost;
  return result;
}

/**
 * One step of the generate job: detect, look up the catalog, write the prose (a model, or the
 * template), then write the file or publish it when the bytes differ.
 */
export function generateStep(access: RepoAccess, queries: CatalogQueries, rules: readonly CodexRule[], publish?: AgentsMdPublisher, writer?: ProseWriter): StepHandler<GenerateStepInput, GenerateStepResult> {
  return async (input, ctx) => {
    const repo = await access.snapshot(input.path);
    const name = access.name(input.path);
    const plan = await planAgentsMd(repo, name, queries, rules);
    // The existing file matters only to keep a model's prose; the template's bytes are compared on write.
    const existing = writer ? (publish ? await publish.current(input.path) : repo.read("AGENTS.md")) : undefined;
    const { text, ...prose } = await composeText(name, plan, existing, writer, ctx);
    const base = { path: input.path, lines: lineCount(text), ...prose, ...(plan.facts ? { ref: plan.facts.ref } : {}) };
    if (publish) {
      // The PR/MR call is idempotent itself (it looks before every write), so a retried step never opens a second one.
      const pr = await publish.publish(input.path, text);
      return { result: { ...base, written: pr.action !== "unchanged", pr } };
    }
    const written = repo.read("AGENTS.md") !== text;
    if (written) await access.writeAgentsMd(input.path, text);
    return { result: { ...base, written } };
  };
}

import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Option, type Command } from "commander";
import { parse as parseYaml } from "yaml";
import { NodeGit, fixtureRepository } from "../../adapters/node/git.ts";
import { loadOrgConfig } from "../../adapters/node/config-loader.ts";
import { createBundledCatalog } from "../../catalog/index.ts";
import { lintRules, type CodexRule } from "../../codex/index.ts";
import { systemClock } from "../../core/clock.ts";
import {
  CircuitBreakers,
  GatewayTransport,
  GitHubPlatform,
  GitLabPlatform,
  ModelRouter,
  catalogPricer,
  findingsFileSchema,
  modelJudge,
  parseGoldenFile,
  parseReviewConfig,
  renderEvalReport,
  renderMarkdown,
  renderNotPerformed,
  renderNotPerformedMarkdown,
  renderReview,
  ReviewNotPerformedError,
  runEval,
  runReview,
  type CaseReviewer,
  type OutputFormat,
  type Progress,
  type ReviewConfig,
  type ReviewPlatform,
  type ReviewResult,
  type ReportedFinding,
} from "../../review/index.ts";
import { readRuleFiles } from "./codex.ts";

interface LoadedConfig {
  config: ReviewConfig;
  rules: CodexRule[];
}

function loadReviewConfig(file: string): LoadedConfig {
  if (!existsSync(file)) throw new Error(`${file}: review config not found (pass --config, see docs/review.md)`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: invalid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const config = parseReviewConfig(raw, file);
  const codexDir = resolve(dirname(file), config.codexDir);
  let rules: CodexRule[] = [];
  if (existsSync(codexDir)) {
    const { rules: valid, problems } = lintRules(readRuleFiles(codexDir));
    if (problems.length > 0) throw new Error(`Invalid Codex rules in ${codexDir}:\n${problems.map((p) => `  ${p.source}: ${p.message}`).join("\n")}`);
    rules = valid;
  }
  return { config, rules };
}

function transportFor(config: ReviewConfig, gatewayUrl: string | undefined): GatewayTransport {
  const token = process.env[config.gateway.tokenEnv];
  if (!token) throw new Error(`set ${config.gateway.tokenEnv} to your Gatehouse token (gateway.tokenEnv in the review config)`);
  return new GatewayTransport({ baseUrl: gatewayUrl ?? config.gateway.url, token });
}

function pricerFor(orgConfigDir: string | undefined) {
  return catalogPricer(createBundledCatalog(), loadOrgConfig(orgConfigDir));
}

interface CiContext {
  platform: ReviewPlatform | undefined;
  base: string | undefined;
  title: string | undefined;
  description: string | undefined;
}

/** Reads the CI environment of GitHub Actions or GitLab CI (only when posting was asked for). */
function ciContext(post: string): CiContext {
  const env = process.env;
  const wantGitHub = post === "github" || (post === "auto" && env["GITHUB_ACTIONS"] === "true");
  const wantGitLab = post === "gitlab" || (post === "auto" && env["GITLAB_CI"] === "true");
  if (wantGitHub) {
    const eventPath = env["GITHUB_EVENT_PATH"];
    const event: unknown = eventPath && existsSync(eventPath) ? JSON.parse(readFileSync(eventPath, "utf8")) : {};
    const pr = typeof event === "object" && event !== null && "pull_request" in event ? (event.pull_request as { number?: number; title?: string; body?: string | null }) : undefined;
    const token = env["GITHUB_TOKEN"];
    if (!pr?.number) throw new Error("--post github needs a pull_request event (GITHUB_EVENT_PATH)");
    if (!token || !env["GITHUB_REPOSITORY"]) throw new Error("--post github needs GITHUB_TOKEN and GITHUB_REPOSITORY");
    return {
      platform: new GitHubPlatform({ apiUrl: env["GITHUB_API_URL"] ?? "https://api.github.com", token, repository: env["GITHUB_REPOSITORY"], pullNumber: pr.number }),
      base: env["GITHUB_BASE_REF"] ? `origin/${env["GITHUB_BASE_REF"]}` : undefined,
      title: pr.title,
      description: pr.body ?? undefined,
    };
  }
  if (wantGitLab) {
    const token = env["GITLAB_TOKEN"];
    const iid = Number(env["CI_MERGE_REQUEST_IID"]);
    if (!token) throw new Error("--post gitlab needs GITLAB_TOKEN (a project access token with api scope)");
    if (!env["CI_PROJECT_ID"] || !Number.isInteger(iid) || iid <= 0) throw new Error("--post gitlab needs a merge request pipeline (CI_PROJECT_ID, CI_MERGE_REQUEST_IID)");
    return {
      platform: new GitLabPlatform({ apiUrl: env["CI_API_V4_URL"] ?? "https://gitlab.com/api/v4", token, projectId: env["CI_PROJECT_ID"], mergeRequestIid: iid }),
      base: env["CI_MERGE_REQUEST_DIFF_BASE_SHA"],
      title: env["CI_MERGE_REQUEST_TITLE"],
      description: env["CI_MERGE_REQUEST_DESCRIPTION"],
    };
  }
  if (post !== "none" && post !== "auto") throw new Error(`--post must be github, gitlab, auto or none`);
  return { platform: undefined, base: undefined, title: undefined, description: undefined };
}

/** A progress bar on stderr (a plain line per step when stderr is not a terminal). */
function stderrProgress(): Progress {
  let total = 0;
  let done = 0;
  const tty = process.stderr.isTTY === true;
  return {
    start(n) {
      total = n;
    },
    tick(label) {
      done += 1;
      const width = 24;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} ${label}`;
      process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
    },
    done() {
      if (tty) process.stderr.write("\n");
    },
  };
}

interface ReviewOptions {
  config: string;
  repo: string;
  base?: string;
  head: string;
  format: OutputFormat;
  output?: string;
  post: string;
  title?: string;
  description?: string;
  failOn: string;
  gatewayUrl?: string;
  orgConfig?: string;
  quiet?: boolean;
}

/** Exit code of a review that could not be performed, whatever --fail-on says (1 is a blocking verdict). */
export const notPerformedExitCode = 2;

/** Says so everywhere the verdict would have gone: output, stderr, the PR/MR; never an approval. */
async function reportNotPerformed(failure: ReviewNotPerformedError, opts: ReviewOptions, platform: ReviewPlatform | undefined): Promise<void> {
  process.exitCode = notPerformedExitCode;
  const rendered = renderNotPerformed(failure, opts.format);
  if (opts.output) writeFileSync(opts.output, rendered);
  else process.stdout.write(rendered);
  for (const reason of failure.reasons) process.stderr.write(`gatehouse review: no review was performed: ${reason}\n`);
  if (!platform) return;
  try {
    const outcome = await platform.publishNotPerformed(renderNotPerformedMarkdown(failure));
    process.stderr.write(`gatehouse review: told ${platform.name} that no review was performed (${outcome.reference})\n`);
    for (const note of outcome.notes) process.stderr.write(`gatehouse review: ${note}\n`);
  } catch (err) {
    // The exit code already fails the job; a comment that could not be posted changes nothing about that.
    process.stderr.write(`gatehouse review: could not post the failure to ${platform.name}: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}

async function reviewAction(opts: ReviewOptions): Promise<void> {
  const { config, rules } = loadReviewConfig(opts.config);
  const ci = ciContext(opts.post);
  const git = new NodeGit(resolve(opts.repo));
  const prior = ci.platform ? await ci.platform.loadPriorState() : undefined;
  let result: ReviewResult;
  try {
    result = await runReview({
      git,
      base: opts.base ?? ci.base ?? "main",
      head: opts.head,
      config,
      rules,
      transport: transportFor(config, opts.gatewayUrl),
      clock: systemClock,
      title: opts.title ?? ci.title,
      description: opts.description ?? ci.description,
      prior,
      pricer: pricerFor(opts.orgConfig),
      onProgress: opts.quiet ? undefined : (event) => process.stderr.write(`gatehouse review: ${event}\n`),
    });
  } catch (err) {
    if (!(err instanceof ReviewNotPerformedError)) throw err;
    await reportNotPerformed(err, opts, ci.platform);
    return;
  }
  const rendered = renderReview(result, opts.format);
  if (opts.output) writeFileSync(opts.output, rendered);
  else process.stdout.write(rendered);
  if (ci.platform) {
    const outcome = await ci.platform.publish(result, renderMarkdown(result));
    process.stderr.write(`gatehouse review: posted to ${ci.platform.name} (${outcome.reference}): ${outcome.inlineComments} inline, ${outcome.resolvedThreads} resolved, verdict ${outcome.platformVerdict}\n`);
    for (const note of outcome.notes) process.stderr.write(`gatehouse review: ${note}\n`);
  }
  const t = result.usage.total;
  process.stderr.write(
    `gatehouse review: ${result.verdict}; ${result.findings.length} finding(s); ${t.inputTokens + t.cacheReadTokens + t.cacheWrite5mTokens + t.cacheWrite1hTokens} in / ${t.outputTokens} out tokens; ${result.usage.costUsd === undefined ? "cost unknown" : `$${result.usage.costUsd.toFixed(4)}`}\n`,
  );
  if (opts.failOn === "requested_changes" && result.verdict === "requested_changes") process.exitCode = 1;
  if (opts.failOn === "comments" && result.verdict !== "approved") process.exitCode = 1;
}

interface EvalOptions {
  config: string | undefined;
  findings: string | undefined;
  judge: boolean;
  format: "markdown" | "json";
  gatewayUrl: string | undefined;
}

async function evalAction(dataset: string, opts: EvalOptions): Promise<void> {
  const goldenFile = existsSync(dataset) && statSync(dataset).isDirectory() ? join(dataset, "golden.json") : dataset;
  const casesDir = join(dirname(goldenFile), "cases");
  const cases = parseGoldenFile(JSON.parse(readFileSync(goldenFile, "utf8")), goldenFile);
  const precomputed = opts.findings ? findingsFileSchema.parse(JSON.parse(readFileSync(opts.findings, "utf8"))) : undefined;
  const loaded = opts.config ? loadReviewConfig(opts.config) : undefined;
  const transport = loaded && !precomputed ? transportFor(loaded.config, opts.gatewayUrl) : undefined;
  const breakers = loaded ? new CircuitBreakers(systemClock, loaded.config.breaker.failureThreshold, loaded.config.breaker.cooldownMs) : undefined;
  const judgeChain = loaded?.config.models.evalJudge;
  const judge = opts.judge && judgeChain && loaded && breakers ? modelJudge(new ModelRouter(transport ?? transportFor(loaded.config, opts.gatewayUrl), breakers, loaded.config.limits.requestTimeoutMs), judgeChain) : undefined;

  const reviewCase: CaseReviewer = async (c) => {
    if (precomputed) return { findings: precomputed[c.id] ?? [] };
    if (!loaded || !transport) return { skip: "no --config to run the reviewer with (or pass --findings)" };
    const fixture = join(casesDir, c.id);
    const repo = existsSync(join(fixture, "base")) ? await fixtureRepository(join(fixture, "base"), join(fixture, "head")) : undefined;
    if (!repo && !(c.repo && c.base && c.head)) return { skip: "no fixture directory and no repo/base/head to review" };
    try {
      const result = await runReview({
        git: repo?.git ?? new NodeGit(resolve(c.repo ?? ".")),
        base: repo?.base ?? c.base ?? "main",
        head: repo?.head ?? c.head ?? "HEAD",
        config: loaded.config,
        rules: loaded.rules,
        transport,
        clock: systemClock,
        title: c.title,
        breakers,
      });
      const findings: ReportedFinding[] = result.findings.map((f) => ({ path: f.path, line: f.line, title: f.title, evidence: f.evidence, suggestion: f.suggestion, severity: f.severity }));
      return { findings };
    } finally {
      repo?.remove();
    }
  };
  const report = await runEval(cases, reviewCase, { judge, progress: stderrProgress() });
  process.stdout.write(opts.format === "json" ? `${JSON.stringify(report, null, 2)}\n` : renderEvalReport(report));
  if (!report.complete) {
    process.stderr.write(`gatehouse review eval: failed: ${report.errored.length} case(s) errored, ${report.skipped.length} skipped; no score\n`);
    process.exitCode = notPerformedExitCode;
  }
}

export function registerReview(program: Command): void {
  const review = program
    .command("review")
    .description("Multi-agent AI code review of a git range: posts one review to a GitHub PR / GitLab MR, or prints Markdown, JSON or SARIF.")
    .option("-c, --config <file>", "review config (YAML); env GATEHOUSE_REVIEW_CONFIG", process.env["GATEHOUSE_REVIEW_CONFIG"] ?? ".gatehouse/review.yaml")
    .option("--repo <dir>", "git repository to review", ".")
    .option("--base <ref>", "base ref (default: the PR/MR target in CI, else main)")
    .option("--head <ref>", "head ref", "HEAD")
    .addOption(new Option("-f, --format <format>", "local output format").choices(["markdown", "json", "sarif"]).default("markdown"))
    .option("-o, --output <file>", "write the output to a file instead of stdout")
    .addOption(new Option("--post <platform>", "post the review: github, gitlab, auto (detect CI) or none").default("none"))
    .option("--title <text>", "change title given to reviewers")
    .option("--description <text>", "change description given to reviewers")
    .addOption(new Option("--fail-on <verdict>", "exit 1 on this verdict (a review that could not be performed always exits 2)").choices(["never", "requested_changes", "comments"]).default("never"))
    .option("--gateway-url <url>", "override gateway.url of the config")
    .option("--org-config <dir>", "gateway config directory, for price overrides in the cost report")
    .option("-q, --quiet", "no progress lines on stderr")
    .addHelpText(
      "after",
      "\nExamples:\n  gatehouse review --base main --format sarif -o review.sarif\n  gatehouse review --post auto            # in GitHub Actions or GitLab CI\n  gatehouse review eval examples/review-dataset -c examples/review-dataset/review.yaml\n\nSee docs/review.md for the config file and CI snippets.",
    )
    .action(async (opts: ReviewOptions) => reviewAction(opts));

  // --config, --format and --gateway-url are the parent's options (commander parses them there).
  review
    .command("eval")
    .description("Run the reviewer over a dataset of changes with known issues and report precision, recall and F1.")
    .argument("<dataset>", "dataset directory (golden.json + cases/<pr>/{base,head}) or a golden-comments JSON file")
    .option("--findings <file>", 'score pre-computed findings ({ "<pr>": [{ path, line, title }] }) instead of running the reviewer')
    .option("--no-judge", "match on file and line only, even when models.evalJudge is configured")
    .addHelpText(
      "after",
      "\nUses the review options -c/--config, -f/--format (markdown or json) and --gateway-url, given before or after `eval`.\nA finding matches a golden comment on the same file within 5 lines and, with a judge model, the same meaning.\nGolden files may use Martian's Code Review Bench spelling ({ url, comments: [{ comment }] }).\n\nExample:\n  gatehouse review eval examples/review-dataset -c examples/review-dataset/review.yaml",
    )
    .action(async (dataset: string, _opts: unknown, command: Command) => {
      const all = command.optsWithGlobals<{ config: string; format: string; gatewayUrl?: string; findings?: string; judge: boolean }>();
      if (all.format !== "markdown" && all.format !== "json") throw new Error("review eval reports as markdown or json");
      const config = existsSync(all.config) ? all.config : command.parent?.getOptionValueSource("config") === "default" ? undefined : all.config;
      await evalAction(dataset, { config, findings: all.findings, judge: all.judge, format: all.format, gatewayUrl: all.gatewayUrl });
    });
}

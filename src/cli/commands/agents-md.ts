import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { localRepoAccess, readCheckout } from "../../adapters/node/agents-md/checkout.ts";
import { openStore } from "../../adapters/node/store.ts";
import { gatewayProseWriter } from "../../adapters/node/agents-md/gateway-prose.ts";
import { loadOrgConfig } from "../../adapters/node/config-loader.ts";
import {
  checkAgentsMd,
  generateStep,
  GENERATE_JOB_KIND,
  planAgentsMd,
  readAgentsMdOnBranch,
  readAgentsMdOnGitLabBranch,
  upsertAgentsMdMergeRequest,
  upsertAgentsMdPullRequest,
  type AgentsMdPublisher,
  type RepoAccess,
  githubRepoAccess,
  gitlabRepoAccess,
  listGitHubOrg,
  listGitLabGroup,
  GITHUB_ITEM,
  GITLAB_ITEM,
  type GenerateStepInput,
  type GenerateStepResult,
  type ProseWriter,
} from "../../agents-md/index.ts";
import { createBundledCatalog } from "../../catalog/index.ts";
import { catalogPricer } from "../../review/index.ts";
import { lintRules, type CodexRule } from "../../codex/index.ts";
import { systemClock } from "../../core/clock.ts";
import { parseSettings } from "../../core/settings.ts";
import { barProgress, createJob, jsonProgress, runJob } from "../../jobs/index.ts";
import { catalogQueries, knowledgeDb } from "../../knowledge/index.ts";
import { readRuleFiles } from "./codex.ts";
import type { Database } from "../../store/index.ts";
import { renderTable } from "../table.ts";

function loadCodex(dir: string | undefined): CodexRule[] {
  const path = dir ?? (existsSync("codex") ? "codex" : undefined);
  if (path === undefined) return [];
  const { rules, problems } = lintRules(readRuleFiles(path));
  if (problems.length > 0) throw new Error(`invalid Codex rules in ${path}; run \`gatehouse codex lint ${path}\``);
  return rules;
}

function positiveInt(value: string, flag: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${flag} must be an integer from 1 to ${max}`);
  return n;
}

interface GenerateOptions {
  catalog?: boolean;
  codex?: string;
  job?: string;
  concurrency: string;
  attempts: string;
  leaseMs: string;
  githubOwner?: string;
  githubApiUrl: string;
  gitlabNamespace?: string;
  githubOrg?: string;
  gitlabGroup?: string;
  gitlabApiUrl: string;
  model?: string;
  gatewayUrl?: string;
  gatewayTokenEnv: string;
  orgConfig?: string;
  ledgerWaitMs: string;
  json?: boolean;
  dataDir?: string;
}

export function registerAgentsMd(program: Command): void {
  const agentsMd = program.command("agents-md").description("Generate AGENTS.md for repositories from their own files, the service catalog and the Codex rules, and check it for stale claims. See docs/knowledge.md.");

  agentsMd
    .command("generate")
    .description(
      "Write AGENTS.md into each checkout, or open one PR/MR per repo (--github-owner, --gitlab-namespace, or every repo of --github-org / --gitlab-group), as a durable job (one step per repo): rerunning the same command after a crash or kill resumes it without redoing finished repos.",
    )
    .argument("[repos...]", "local checkouts")
    .option("--catalog", "every checkout the catalog store read a Component from (gatehouse knowledge refresh)")
    .option("--codex <dir>", "Codex rule directory (default ./codex when it exists)")
    .option("--job <id>", "job id (default: derived from the repo list, so the same command resumes the same job)")
    .option("--concurrency <n>", "repos processed at once", "4")
    .option("--attempts <n>", "attempts per repo before it is failed", "3")
    .option("--lease-ms <ms>", "how long a repo claimed by a run that died waits before another run takes it over", "30000")
    .option("--github-owner <owner>", "open or update one PR per repo on GitHub instead of writing the checkout: the repo is <owner>/<checkout dir name>; token from env GITHUB_TOKEN")
    .option("--github-api-url <url>", "GitHub REST API base URL (GitHub Enterprise: https://host/api/v3)", "https://api.github.com")
    .option("--gitlab-namespace <group>", "open or update one merge request per repo on GitLab instead of writing the checkout: the project is <group>/<checkout dir name>; token from env GITLAB_TOKEN")
    .option("--github-org <org>", "every repository of this GitHub organization (listed through the API, read from its default branch, no checkout): one PR each; token from env GITHUB_TOKEN")
    .option("--gitlab-group <group>", "every project of this GitLab group and its subgroups (listed through the API, read from its default branch): one MR each; token from env GITLAB_TOKEN")
    .option("--gitlab-api-url <url>", "GitLab REST API base URL (self-managed: https://host/api/v4)", "https://gitlab.com/api/v4")
    .option(
      "--model <model>",
      "have this model write the prose through the gateway: `compat/<model>` (the open-weight route, also for a bare id such as @cf/qwen/qwen3-30b-a3b-fp8) or `<provider>/<model>`; env GATEHOUSE_AGENTS_MD_MODEL; without one the deterministic template writes it",
    )
    .option("--gateway-url <url>", "the gateway the model is called through (its /compat route …); env GATEHOUSE_URL")
    .option("--gateway-token-env <name>", "env var holding your gateway token", "GATEHOUSE_TOKEN")
    .option("--org-config <dir>", "the gateway's config directory: its pricing overrides price a call whose ledger row is not in this store")
    .option("--ledger-wait-ms <ms>", "how long to wait for the gateway's ledger row of each model call before pricing its usage instead", "5000")
    .option("--json", "print the final report as JSON")
    .option("-d, --data-dir <dir>", "data directory of the gateway; env GATEHOUSE_DATA_DIR")
    .addHelpText(
      "after",
      "\nProgress goes to stderr: a bar on a terminal, JSON lines otherwise. Exit code 1 when a repo failed.\nWith --model, a model answer that fails or is refused (sections, length, a command or owner not among the facts) gives the template for that repo; the report says so.\n\nExamples:\n  gatehouse agents-md generate ./payments ./ledger\n  gatehouse agents-md generate --catalog --concurrency 8 --json\n  GITHUB_TOKEN=… gatehouse agents-md generate --github-org acme\n  GITLAB_TOKEN=… gatehouse agents-md generate --gitlab-group platform/services\n  GATEHOUSE_TOKEN=… gatehouse agents-md generate --catalog --model @cf/qwen/qwen3-30b-a3b-fp8 --gateway-url https://gatehouse.example.com",
    )
    .action(async (repos: string[], opts: GenerateOptions) => {
      const leaseMs = positiveInt(opts.leaseMs, "--lease-ms", 3_600_000);
      const concurrency = positiveInt(opts.concurrency, "--concurrency", 64);
      const maxAttempts = positiveInt(opts.attempts, "--attempts", 10);
      const remote = [opts.githubOrg, opts.gitlabGroup].filter((x) => x !== undefined).length;
      if (remote > 1 || (remote === 1 && (repos.length > 0 || opts.catalog))) throw new Error("give checkouts (or --catalog), --github-org or --gitlab-group: one kind of repo list per run");
      if (remote === 0 && repos.length === 0 && !opts.catalog) throw new Error("name at least one checkout, --catalog for every checkout in the catalog store, --github-org <org> or --gitlab-group <group>");
      if (remote === 1 && (opts.githubOwner !== undefined || opts.gitlabNamespace !== undefined)) throw new Error("--github-org and --gitlab-group open their PRs/MRs on the listed repositories themselves: leave out --github-owner / --gitlab-namespace");
      const ledgerWaitMs = positiveInt(opts.ledgerWaitMs, "--ledger-wait-ms", 600_000);
      const rules = loadCodex(opts.codex);
      const githubToken = (flag: string): string => {
        const token = process.env["GITHUB_TOKEN"];
        if (!token) throw new Error(`${flag} needs a token in env GITHUB_TOKEN (contents and pull requests: read and write)`);
        return token;
      };
      const gitlabToken = (flag: string): string => {
        const token = process.env["GITLAB_TOKEN"];
        if (!token) throw new Error(`${flag} needs a token in env GITLAB_TOKEN (api scope, Developer on the projects)`);
        return token;
      };
      let access: RepoAccess = localRepoAccess;
      let publish: AgentsMdPublisher | undefined;
      let listRemote: (() => Promise<string[]>) | undefined;
      if (opts.githubOwner !== undefined || opts.githubOrg !== undefined) {
        const token = githubToken(opts.githubOrg !== undefined ? "--github-org" : "--github-owner");
        const apiUrl = opts.githubApiUrl;
        const org = opts.githubOrg;
        const owner = opts.githubOwner;
        // A checkout is <owner>/<its dir name>; a listed repo is the item itself.
        const target = (item: string) => {
          const [o, r] = org !== undefined ? item.slice(GITHUB_ITEM.length).split("/") : [owner, basename(item)];
          return { apiUrl, token, owner: o ?? "", repo: r ?? "" };
        };
        publish = { current: (item) => readAgentsMdOnBranch(target(item)), publish: (item, text) => upsertAgentsMdPullRequest(target(item), text) };
        if (org !== undefined) {
          access = githubRepoAccess({ apiUrl, token });
          listRemote = () => listGitHubOrg({ apiUrl, token }, org);
        }
      }
      if (opts.gitlabNamespace !== undefined || opts.gitlabGroup !== undefined) {
        if (publish) throw new Error("give a GitHub or a GitLab target, not both");
        const token = gitlabToken(opts.gitlabGroup !== undefined ? "--gitlab-group" : "--gitlab-namespace");
        const apiUrl = opts.gitlabApiUrl;
        const group = opts.gitlabGroup;
        const namespace = opts.gitlabNamespace?.replace(/\/+$/, "");
        const target = (item: string) => ({ apiUrl, token, project: group !== undefined ? item.slice(GITLAB_ITEM.length) : `${namespace ?? ""}/${basename(item)}` });
        publish = { current: (item) => readAgentsMdOnGitLabBranch(target(item)), publish: (item, text) => upsertAgentsMdMergeRequest(target(item), text) };
        if (group !== undefined) {
          access = gitlabRepoAccess({ apiUrl, token });
          listRemote = () => listGitLabGroup({ apiUrl, token }, group);
        }
      }
      const model = opts.model ?? process.env["GATEHOUSE_AGENTS_MD_MODEL"];
      const db = await openStore(parseSettings(process.env, { dataDir: opts.dataDir }));
      try {
        let writer: ProseWriter | undefined;
        if (model !== undefined && model !== "") {
          const gatewayUrl = opts.gatewayUrl ?? process.env["GATEHOUSE_URL"];
          if (!gatewayUrl) throw new Error("--model needs the gateway to call it through: --gateway-url <url> or env GATEHOUSE_URL");
          const token = process.env[opts.gatewayTokenEnv];
          if (!token) throw new Error(`--model needs a gateway token in env ${opts.gatewayTokenEnv} (gatehouse login, or a service account token)`);
          writer = gatewayProseWriter({ gatewayUrl, token, model, db, pricer: catalogPricer(createBundledCatalog(), loadOrgConfig(opts.orgConfig)), ledgerWaitMs });
        }
        let sorted: string[];
        if (listRemote) sorted = [...new Set(await listRemote())].sort();
        else {
          const paths = new Set(repos.map((r) => resolve(r)));
          if (opts.catalog) {
            const rows = await knowledgeDb(db).selectFrom("knowledge_entities").select("location").where("kind", "=", "component").where("location", "like", "file:%").execute();
            for (const row of rows) paths.add(dirname(row.location.slice("file:".length)));
          }
          sorted = [...paths].sort();
          for (const path of sorted) if (!existsSync(path)) throw new Error(`${path}: no such checkout`);
        }
        if (sorted.length === 0) throw new Error(listRemote ? "the listing has no repository with a default branch (archived, forked and empty ones are left out)" : "no checkout to generate for");
        const jobId = opts.job ?? `agents-md-${createHash("sha256").update(sorted.join("\n")).digest("hex").slice(0, 16)}`;
        await createJob(db, { id: jobId, kind: GENERATE_JOB_KIND, params: { repos: sorted.length }, items: sorted.map((path) => ({ item: path, input: { path } satisfies GenerateStepInput })) }, systemClock.now());
        const write = (text: string): void => void process.stderr.write(text);
        const progress = process.stderr.isTTY ? barProgress(write) : jsonProgress(write, systemClock.now);
        const report = await runJob<Database, GenerateStepInput, GenerateStepResult>(db, jobId, GENERATE_JOB_KIND, generateStep(access, catalogQueries(db), rules, publish, writer), { clock: systemClock, concurrency, maxAttempts, leaseMs, progress });
        if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else {
          const rows = report.steps.filter((s) => s.status !== "done").map((s) => [s.item, s.status, String(s.attempts), s.error ?? ""]);
          if (rows.length > 0) process.stdout.write(`${renderTable(["repo", "status", "attempts", "error"], rows)}\n`);
          const results = report.steps.map((s) => s.result as GenerateStepResult | undefined);
          const written = results.filter((r) => r?.written === true).length;
          const fallbacks = report.steps.filter((s) => (s.result as GenerateStepResult | undefined)?.prose === "fallback");
          for (const step of fallbacks) process.stdout.write(`${step.item}: template written instead of the model's prose: ${(step.result as GenerateStepResult).fallback ?? ""}\n`);
          const byModel = results.filter((r) => r?.prose === "model").length;
          const kept = results.filter((r) => r?.prose === "kept").length;
          const unpriced = results.filter((r) => r?.cost?.unpriced === true).length;
          const prose = writer ? `; prose by ${writer.model}: ${byModel} written, ${kept} kept, ${fallbacks.length} fell back to the template${unpriced > 0 ? `, ${unpriced} calls unpriced` : ""}` : "";
          process.stdout.write(`job ${jobId}: ${report.counts.done} done (${written} written), ${report.counts.failed} failed, ${report.counts.skipped} skipped${prose}; cost $${report.totalCostUsd.toFixed(4)}\n`);
        }
        if (report.counts.failed > 0) process.exitCode = 1;
      } finally {
        await db.destroy();
      }
    });

  agentsMd
    .command("check")
    .description("Report AGENTS.md claims that went stale (commands gone, paths gone, owner or dependencies changed in the catalog, over the length limit), each high/medium/low. Exit code 1 when one is high.")
    .argument("<repo>", "local checkout")
    .option("--json", "print the findings as JSON")
    .option("-d, --data-dir <dir>", "data directory of the gateway; env GATEHOUSE_DATA_DIR")
    .action(async (repo: string, opts: { json?: boolean; dataDir?: string }) => {
      const root = resolve(repo);
      if (!existsSync(root)) throw new Error(`${root}: no such checkout`);
      const snapshot = readCheckout(root);
      const text = existsSync(join(root, "AGENTS.md")) ? readFileSync(join(root, "AGENTS.md"), "utf8") : undefined;
      const db = await openStore(parseSettings(process.env, { dataDir: opts.dataDir }));
      try {
        const { detection, facts } = await planAgentsMd(snapshot, root, catalogQueries(db), []);
        const findings = checkAgentsMd(text, snapshot, detection, facts);
        if (opts.json) process.stdout.write(`${JSON.stringify({ repo: root, findings }, null, 2)}\n`);
        else if (findings.length === 0) process.stdout.write(`${root}: AGENTS.md is up to date\n`);
        else
          process.stdout.write(
            `${renderTable(
              ["materiality", "kind", "finding"],
              findings.map((f) => [f.materiality, f.kind, f.message]),
            )}\n`,
          );
        if (findings.some((f) => f.materiality === "high")) process.exitCode = 1;
      } finally {
        await db.destroy();
      }
    });
}

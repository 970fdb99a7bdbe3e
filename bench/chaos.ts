/**
 * Chaos run: two `gatehouse serve` instances on one private PostgreSQL, a per-user budget,
 * N requests from one user spread over both, while PostgreSQL is restarted twice and one
 * instance is SIGKILLed. Prints the rows lost and the overspend against the budget.
 *
 *   node --import tsx bench/chaos.ts [--requests 10000] [--concurrency 32] [--budget-requests 5000]
 *
 * Loopback only; bounded in requests (at most 50,000) and time (10 minutes).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { openPostgres } from "../src/adapters/node/postgres.ts";
import { silentLogger } from "../src/core/logger.ts";
import { startFakeUpstream } from "../test/fake-upstream/index.ts";
import { chat, createSharedSigningKey, issueToken, KEYS, startGatewayProcess, writeConfig, type GatewayProcess } from "../test/scale/gateway-process.ts";
import { startRestartableCluster } from "../test/scale/postgres.ts";

const HELP = `Usage: node --import tsx bench/chaos.ts [options]

Sends requests from one user to two gateway instances sharing a PostgreSQL store and a
daily budget, restarts PostgreSQL twice (at 10% and 50% of the requests) and SIGKILLs one
instance (at 30%); a client that finds an instance dead sends to the other one, as a
health-checking load balancer would. Then counts ledger rows and spend.

Options:
  --requests N          requests to send (default 10000, at most 50000)
  --concurrency C       requests in flight (default 32, at most 256)
  --budget-requests B   the daily budget is worth B requests (default 5000)
  --help                this text

Needs the Debian postgresql package (.ci/install-system.sh). Loopback only.`;

function option(name: string, fallback: number, max: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value <= 0 || value > max) throw new Error(`--${name} must be a whole number from 1 to ${max}`);
  return value;
}

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

const REQUESTS = option("requests", 10_000, 50_000);
const CONCURRENCY = option("concurrency", 32, 256);
const BUDGET_REQUESTS = option("budget-requests", 5_000, 1_000_000);
const DEADLINE = Date.now() + 10 * 60_000;

const body = { model: "gpt-budget", max_tokens: 200, messages: [{ role: "user", content: "chaos" }] };
const inputTokens = Buffer.byteLength(JSON.stringify(body));
// The policy reserves body bytes + max_tokens at $1 per million; the fake answers with exactly that usage,
// so every admitted request costs its estimate and the budget is worth exactly BUDGET_REQUESTS.
const perRequest = (inputTokens + body.max_tokens) / 1e6;
const budgetUsd = perRequest * BUDGET_REQUESTS;

interface Answer {
  status: number;
  id: string | null;
  instance: "a" | "b";
}

async function main(): Promise<void> {
  const log = (message: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
  log(`starting PostgreSQL, a fake upstream and two instances; ${REQUESTS} requests at concurrency ${CONCURRENCY}, budget $${budgetUsd.toFixed(4)} (${BUDGET_REQUESTS} requests)`);
  const cluster = await startRestartableCluster();
  const fake = await startFakeUpstream({ keys: KEYS });
  fake.setDefault({ headersDelayMs: 10, usage: { input: inputTokens, output: body.max_tokens } });
  const configDir = writeConfig(
    fake.url,
    ["pricing:", "  openai/gpt-budget: { input: 1, output: 1 }", "policy:", "  defaultGroup: dev", "  groups:", "    dev:", '      models: ["openai/*"]', `      budget: { perUser: { dailyUsd: ${budgetUsd.toFixed(9)} } }`].join("\n"),
  );
  const shared = { DATABASE_URL: cluster.url, GATEHOUSE_SIGNING_KEY_FILE: await createSharedSigningKey(), GATEHOUSE_LEDGER_FLUSH_MS: "100", GATEHOUSE_LOG_LEVEL: "error" };
  const token = await issueToken(shared, "chaos@example.com", ["dev"]);
  const instances: Record<"a" | "b", GatewayProcess> = { a: await startGatewayProcess(configDir, shared), b: await startGatewayProcess(configDir, shared) };
  const db = openPostgres(cluster.url, { maxConnections: 2, logger: silentLogger });
  const dead = new Set<"a" | "b">();

  const answers: Answer[] = [];
  const noAnswer: Array<{ instance: "a" | "b"; error: string }> = [];
  let sent = 0;
  const events: string[] = [];
  const at = (share: number) => Math.floor(REQUESTS * share);
  const plan: Array<{ when: number; name: string; run: () => Promise<void> }> = [
    { when: at(0.1), name: "PostgreSQL restart 1", run: restart },
    {
      when: at(0.3),
      name: "SIGKILL instance a",
      run: async () => {
        dead.add("a");
        await instances.a.stop("SIGKILL");
      },
    },
    { when: at(0.5), name: "PostgreSQL restart 2", run: restart },
  ];
  async function restart(): Promise<void> {
    await cluster.stop();
    await sleep(2_000);
    await cluster.start();
  }
  const chaos = (async () => {
    for (const step of plan) {
      while (sent < step.when && Date.now() < DEADLINE) await sleep(20);
      const started = Date.now();
      log(`${step.name} (after ${sent} requests sent)`);
      await step.run();
      events.push(`${step.name} at request ${step.when}, took ${Date.now() - started} ms`);
    }
  })();

  let turn = 0;
  const worker = async () => {
    while (sent < REQUESTS && Date.now() < DEADLINE) {
      sent++;
      let instance: "a" | "b" = turn++ % 2 === 0 ? "a" : "b";
      if (dead.has(instance)) instance = instance === "a" ? "b" : "a";
      try {
        const res = await chat(instances[instance].url, body, undefined, token);
        await res.arrayBuffer();
        answers.push({ status: res.status, id: res.headers.get("x-gatehouse-request-id"), instance });
      } catch (err) {
        noAnswer.push({ instance, error: err instanceof Error ? err.message : String(err) });
      }
    }
  };
  const began = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await chaos;
  const seconds = (Date.now() - began) / 1000;
  log(`load done in ${seconds.toFixed(1)} s; stopping instance b with SIGTERM`);
  const exitB = await instances.b.stop("SIGTERM");

  // Rows of answered requests, per instance.
  const ids = answers.map((a) => a.id).filter((id): id is string => id !== null);
  const found = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 1000) {
    const rows = await db
      .selectFrom("ledger")
      .select("request_id")
      .where("request_id", "in", ids.slice(i, i + 1000))
      .execute();
    for (const row of rows) found.set(row.request_id, (found.get(row.request_id) ?? 0) + 1);
  }
  const lost = { a: 0, b: 0 };
  let duplicated = 0;
  for (const answer of answers) {
    if (!answer.id) continue;
    const n = found.get(answer.id) ?? 0;
    if (n === 0) lost[answer.instance]++;
    if (n > 1) duplicated++;
  }
  const byStatus: Record<string, number> = {};
  for (const answer of answers) byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
  const admitted = answers.filter((a) => a.status === 200).length;
  // What the provider served (and would bill), whether or not the gateway recorded it.
  const billed = fake.requests.filter((r) => r.bodyText.includes('"content":"chaos"')).length;
  const spend = await db
    .selectFrom("ledger")
    .select((eb) => eb.fn.sum<number>("cost_usd").as("usd"))
    .where("model", "=", "gpt-budget")
    .executeTakeFirstOrThrow();
  const ledgerUsd = Number(spend.usd ?? 0);
  const result = {
    requests: REQUESTS,
    concurrency: CONCURRENCY,
    seconds: Number(seconds.toFixed(1)),
    events,
    answers: byStatus,
    noAnswer: { total: noAnswer.length, a: noAnswer.filter((n) => n.instance === "a").length, b: noAnswer.filter((n) => n.instance === "b").length },
    rowsLost: { total: lost.a + lost.b, ...lost, note: "answered requests without a ledger row (a's: answered within its last flush interval before the SIGKILL)" },
    rowsDuplicated: duplicated,
    budget: { usd: Number(budgetUsd.toFixed(6)), requests: BUDGET_REQUESTS },
    admitted200: admitted,
    providerServed: billed,
    ledgerSpendUsd: Number(ledgerUsd.toFixed(6)),
    overspend: {
      ledgerUsd: Number(Math.max(0, ledgerUsd - budgetUsd).toFixed(6)),
      providerRequests: Math.max(0, billed - BUDGET_REQUESTS),
      providerUsd: Number(Math.max(0, billed * perRequest - budgetUsd).toFixed(6)),
    },
    exitCodeB: exitB,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  await db.destroy();
  await fake.close();
  await cluster.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

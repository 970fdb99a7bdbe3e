/**
 * How far the gateway's estimated usage is from what the providers really reported.
 *
 *   node --import tsx bench/estimate-error.ts DIR [--limit N]
 *
 * DIR holds recorded real API exchanges as VCR cassettes (YAML `interactions:` with
 * `request.parsed_body`, `response.parsed_body` and the provider's real `usage`), e.g. the
 * cassettes of an SDK's test suite; none ship with Gatehouse. Each text-only exchange is
 * replayed through a real gateway in front of the fake upstream: the fake streams the real
 * answer text and is told the real usage, then breaks the connection right before the event
 * that carries the usage. The ledger row the gateway writes (estimated = 1) is compared with
 * the real figures. Also printed: the prompt counted from the body alone (what an estimate
 * uses when the stream broke before any usage event; Anthropic and Gemini send input counts
 * early, so their cut streams keep the exact input).
 */
import { readdirSync, readFileSync, statSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { parseSettings } from "../src/core/settings.ts";
import { silentLogger } from "../src/core/logger.ts";
import { startGateway } from "../src/adapters/node/server.ts";
import { bodyOutputText, estimateInputTokens, estimateOutputTokens, preloadTokenizers, promptParts, tokenizerProfile } from "../src/usage/estimate/index.ts";
import type { WireFormat } from "../src/usage/index.ts";
import { startFakeUpstream } from "../test/fake-upstream/index.ts";

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Rec) : undefined);
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

interface Exchange {
  format: Exclude<WireFormat, "none" | "openai-embeddings" | "bedrock-invoke" | "bedrock-converse">;
  model: string;
  request: Rec;
  text: string;
  real: { input: number; output: number; reasoning: number };
  /** Provider-run tools (web search, code execution…) add input the request body does not show. */
  serverTools: boolean;
}

function hasServerTools(format: Exchange["format"], body: Rec): boolean {
  const tools = body["tools"];
  if (!Array.isArray(tools)) return false;
  return tools.some((tool) => {
    const t = rec(tool);
    if (!t) return false;
    if (format === "gemini") return Object.keys(t).some((k) => k !== "functionDeclarations");
    const type = t["type"];
    return type !== undefined && type !== "function" && type !== "custom";
  });
}

function formatOf(uri: string): Exchange["format"] | undefined {
  if (/\/v1\/messages(\?|$)/.test(uri)) return "anthropic-messages";
  if (/api\.openai\.com\/v1\/chat\/completions/.test(uri)) return "openai-chat";
  if (/api\.openai\.com\/v1\/responses/.test(uri)) return "openai-responses";
  if (/generativelanguage\.googleapis\.com\/v1beta\/models\/[^:]+:generateContent/.test(uri)) return "gemini";
  return undefined;
}

function realUsage(format: Exchange["format"], body: Rec): Exchange["real"] | undefined {
  if (format === "gemini") {
    const u = rec(body["usageMetadata"]);
    if (!u) return undefined;
    return { input: num(u["promptTokenCount"]) + num(u["toolUsePromptTokenCount"]), output: num(u["candidatesTokenCount"]) + num(u["thoughtsTokenCount"]), reasoning: num(u["thoughtsTokenCount"]) };
  }
  const u = rec(body["usage"]);
  if (!u) return undefined;
  if (format === "anthropic-messages") return { input: num(u["input_tokens"]) + num(u["cache_read_input_tokens"]) + num(u["cache_creation_input_tokens"]), output: num(u["output_tokens"]), reasoning: 0 };
  if (format === "openai-chat") return { input: num(u["prompt_tokens"]), output: num(u["completion_tokens"]), reasoning: num(rec(u["completion_tokens_details"])?.["reasoning_tokens"]) };
  return { input: num(u["input_tokens"]), output: num(u["output_tokens"]), reasoning: num(rec(u["output_tokens_details"])?.["reasoning_tokens"]) };
}

function* cassettes(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* cassettes(path);
    else if (name.endsWith(".yaml") || name.endsWith(".yml")) yield path;
  }
}

function load(dir: string): { exchanges: Exchange[]; skipped: Record<string, number> } {
  const exchanges: Exchange[] = [];
  const skipped: Record<string, number> = {};
  const skip = (why: string) => void (skipped[why] = (skipped[why] ?? 0) + 1);
  for (const file of cassettes(dir)) {
    let doc: unknown;
    try {
      doc = parse(readFileSync(file, "utf8"), { maxAliasCount: -1 });
    } catch {
      skip("unparsable yaml");
      continue;
    }
    const interactions = rec(doc)?.["interactions"];
    if (!Array.isArray(interactions)) continue;
    for (const interaction of interactions) {
      const request = rec(rec(interaction)?.["request"]);
      const response = rec(rec(interaction)?.["response"]);
      const format = formatOf(String(request?.["uri"] ?? ""));
      if (!format) continue;
      const reqBody = rec(request?.["parsed_body"]);
      const resBody = rec(response?.["parsed_body"]);
      if (num(rec(response?.["status"])?.["code"]) !== 200 || !reqBody || !resBody) {
        skip("not a 200 JSON exchange");
        continue;
      }
      const real = realUsage(format, resBody);
      if (!real || real.input === 0) {
        skip("no usage");
        continue;
      }
      if (promptParts(format, reqBody).media > 0) {
        skip("media in the prompt");
        continue;
      }
      if (reqBody["context_management"] !== undefined) {
        skip("context_management (history compacted upstream)");
        continue;
      }
      if (format === "openai-responses" && reqBody["previous_response_id"]) {
        skip("previous_response_id (prompt held upstream)");
        continue;
      }
      const text = bodyOutputText(format, resBody);
      if (text.length === 0) {
        skip("no output text");
        continue;
      }
      const model = format === "gemini" ? (/models\/([^:]+):/.exec(String(request?.["uri"]))?.[1] ?? "gemini") : String(reqBody["model"] ?? "unknown");
      exchanges.push({ format, model, request: reqBody, text, real, serverTools: hasServerTools(format, reqBody) });
    }
  }
  return { exchanges, skipped };
}

const OPENING_EVENTS: Record<Exchange["format"], number> = { "openai-chat": 1, "openai-responses": 4, "anthropic-messages": 3, gemini: 0 };
const CHUNKS = 12;

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error("usage: node --import tsx bench/estimate-error.ts DIR [--limit N]");
  const limitAt = process.argv.indexOf("--limit");
  const limit = limitAt > 0 ? Number(process.argv[limitAt + 1]) : Infinity;
  await preloadTokenizers();
  const { exchanges, skipped } = load(dir);

  const fake = await startFakeUpstream({ keys: { anthropic: "sk-ant", openai: "sk-oai", google: "AIza" } });
  const configDir = mkdtempSync(join(tmpdir(), "gatehouse-estimate-"));
  writeFileSync(join(configDir, "gatehouse.yaml"), `providers:\n  anthropic: { upstream: ${fake.url} }\n  openai: { upstream: ${fake.url}/v1 }\n  google-ai-studio: { upstream: ${fake.url}/v1beta }\n`);
  const env = { ANTHROPIC_API_KEY: "sk-ant", OPENAI_API_KEY: "sk-oai", GEMINI_API_KEY: "AIza", GATEHOUSE_DEV_TOKEN: "estimate-error-token-0123" };
  const settings = parseSettings(env, { configDir, dataDir: join(configDir, "data"), port: 0 });
  const gateway = await startGateway({ settings, env, logger: silentLogger, offline: true });

  type Sample = { format: string; realIn: number; rowIn: number; bodyIn: number; realOut: number; rowOut: number; textOut: number; reasoning: number; serverTools: boolean };
  const samples: Sample[] = [];
  try {
    for (const ex of exchanges.slice(0, limit)) {
      const pieces = Math.min(CHUNKS, ex.text.length);
      fake.enqueue({ text: ex.text, chunks: pieces, model: ex.model, usage: { input: ex.real.input, output: ex.real.output, reasoning: ex.real.reasoning }, failAfterEvents: OPENING_EVENTS[ex.format] + pieces });
      const body = { ...ex.request };
      let path: string;
      const headers: Record<string, string> = { "content-type": "application/json", authorization: `Bearer ${env.GATEHOUSE_DEV_TOKEN}` };
      if (ex.format === "gemini") path = `/google-ai-studio/v1beta/models/${ex.model}:streamGenerateContent?alt=sse`;
      else {
        body["stream"] = true;
        path = ex.format === "anthropic-messages" ? "/anthropic/v1/messages" : ex.format === "openai-chat" ? "/openai/v1/chat/completions" : "/openai/v1/responses";
        if (ex.format === "anthropic-messages") headers["anthropic-version"] = "2023-06-01";
        if (ex.format === "openai-chat") delete body["stream_options"];
      }
      const res = await fetch(`${gateway.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
      await res.arrayBuffer();
      const requestId = res.headers.get("x-gatehouse-request-id") ?? "";
      let row: Awaited<ReturnType<typeof rowOf>>;
      for (let i = 0; i < 200 && !(row = await rowOf(requestId)); i++) await new Promise((r) => setTimeout(r, 20));
      async function rowOf(id: string) {
        await gateway.ledger.flush();
        return gateway.deps.db.selectFrom("ledger").selectAll().where("request_id", "=", id).executeTakeFirst();
      }
      if (!row) throw new Error(`no ledger row for ${ex.format} ${ex.model}`);
      if (row.estimated !== 1) throw new Error(`row not estimated: ${ex.format} ${ex.model} ${row.outcome}`);
      samples.push({
        format: ex.format,
        realIn: ex.real.input,
        rowIn: row.input_tokens + row.cache_read_tokens + row.cache_write_5m_tokens + row.cache_write_1h_tokens,
        bodyIn: estimateInputTokens(ex.format, ex.model, ex.request, JSON.stringify(ex.request).length),
        realOut: ex.real.output,
        rowOut: row.output_tokens,
        textOut: estimateOutputTokens(ex.format, ex.model, ex.text),
        reasoning: ex.real.reasoning,
        serverTools: ex.serverTools,
      });
    }
  } finally {
    await gateway.close();
    await fake.close();
  }

  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const stats = (pairs: Array<[number, number]>) => {
    const errs = pairs.map(([est, real]) => (est - real) / real).sort((a, b) => Math.abs(a) - Math.abs(b));
    const abs = errs.map(Math.abs).sort((a, b) => a - b);
    const q = (p: number) => abs[Math.min(abs.length - 1, Math.floor(p * abs.length))] ?? 0;
    const est = pairs.reduce((s, [e]) => s + e, 0);
    const real = pairs.reduce((s, [, r]) => s + r, 0);
    const mean = errs.reduce((s, e) => s + e, 0) / Math.max(1, errs.length);
    return `n=${pairs.length} median |err| ${pct(q(0.5))}, p90 |err| ${pct(q(0.9))}, mean signed ${pct(mean)}, total est/real ${(est / Math.max(1, real)).toFixed(3)}`;
  };
  console.log(`exchanges: ${samples.length} replayed; skipped: ${JSON.stringify(skipped)}`);
  for (const format of ["openai-chat", "openai-responses", "anthropic-messages", "gemini"] as const) {
    const of = samples.filter((s) => s.format === format);
    if (of.length === 0) continue;
    const profile = tokenizerProfile(format, undefined).name;
    console.log(`\n${format} (counted with ${profile}):`);
    console.log(`  input, ledger row of the cut stream:   ${stats(of.map((s) => [s.rowIn, s.realIn]))}`);
    const plain = of.filter((s) => !s.serverTools);
    console.log(`  input, counted from the body alone:    ${stats(plain.map((s) => [s.bodyIn, s.realIn]))}`);
    const server = of.filter((s) => s.serverTools);
    if (server.length) console.log(`    (with provider-run tools, not in the body: ${stats(server.map((s) => [s.bodyIn, s.realIn]))})`);
    const visible = of.filter((s) => s.reasoning === 0);
    if (visible.length) console.log(`  output, answers without reasoning:     ${stats(visible.map((s) => [s.rowOut, s.realOut]))}`);
    if (visible.length) console.log(`    (the relayed text alone:             ${stats(visible.map((s) => [s.textOut, s.realOut]))})`);
    const reasoning = of.filter((s) => s.reasoning > 0);
    if (reasoning.length) console.log(`  output, answers with hidden reasoning: ${stats(reasoning.map((s) => [s.rowOut, s.realOut]))}`);
  }
}

await main();

/**
 * Small hot-path pieces, before and after their rewrite, in isolation (µs per call, median of
 * 7 runs of 200k): what the whole-gateway figures on this shared machine are too noisy to
 * show one by one. `node --import tsx bench/pieces.ts`. The "before" lines are the old code,
 * kept here verbatim.
 */
import { performance } from "node:perf_hooks";
import { orgConfigSchema } from "../src/config/index.ts";
import { uuidv7 } from "../src/core/ids.ts";
import { forwardRequestHeaders, gatewayHeaders } from "../src/proxy/headers.ts";
import { utcDay } from "../src/proxy/metering.ts";
import { globToRegExp } from "../src/policy/glob.ts";

const config = orgConfigSchema.parse({ providers: { openai: { upstream: "http://127.0.0.1:1/v1", apiKeyEnv: "K" } } });
const pinHeaders = (config.providers as Record<string, { pinHeaders: Record<string, string> }>)["openai"]?.pinHeaders ?? {};
const incoming = { host: "127.0.0.1:8787", "content-type": "application/json", authorization: "Bearer x", "content-length": "90", connection: "keep-alive", "user-agent": "autocannon", accept: "*/*" };
const stripped = ["openai-organization", "openai-project"];
const strippedForJson = [...stripped, "content-encoding"];
const key = { placement: "authorization-bearer" as const, value: "sk" };
const userIdHeader = "x-gatehouse-user-id";

let lastMs = 0;
let sequence = 0;
/** src/core/ids.ts before: the 48-bit timestamp through Number#toString(16) on every id. */
function uuidv7Before(now: number = Date.now()): string {
  const random = crypto.randomUUID();
  if (now <= lastMs) {
    sequence++;
    if (sequence > 0xfff) {
      sequence = 0;
      lastMs++;
    }
    now = lastMs;
  } else {
    lastMs = now;
    sequence = Number.parseInt(random.slice(15, 17), 16) & 0x7f;
  }
  const ms = now.toString(16).padStart(12, "0");
  const seq = sequence.toString(16).padStart(3, "0");
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${seq}${random.slice(18)}`;
}

const compiled = new WeakMap<readonly string[], RegExp[]>();
function zdrPatterns(models: readonly string[]): RegExp[] {
  let patterns = compiled.get(models);
  if (!patterns) {
    patterns = models.map(globToRegExp);
    compiled.set(models, patterns);
  }
  return patterns;
}
const NO_MODELS: readonly string[] = [];
const noPolicy: { zdr: { models: string[] } } | undefined = undefined as { zdr: { models: string[] } } | undefined;

let sink = 0;
const cases: Record<string, (i: number) => unknown> = {
  "upstream headers, before: { ...{ ...pinHeaders, [userIdHeader]: id }, ...JSON_HEADERS }": (i) =>
    forwardRequestHeaders(incoming, key, { ...{ ...pinHeaders, [userIdHeader]: `id-${i & 1023}` }, ...{ "content-type": "application/json" } }, [...stripped, "content-encoding"]),
  "upstream headers, after: gatewayHeaders(…)": (i) => forwardRequestHeaders(incoming, key, gatewayHeaders(pinHeaders, userIdHeader, `id-${i & 1023}`, true), strippedForJson),
  "request id, before: uuidv7 with a 48-bit toString(16)": () => uuidv7Before(),
  "request id, after: uuidv7": () => uuidv7(),
  "ledger day, before: new Date(ts).toISOString().slice(0, 10)": (i) => new Date(1_764_590_000_000 + i).toISOString().slice(0, 10),
  "ledger day, after: utcDay(ts)": (i) => utcDay(1_764_590_000_000 + i),
  "ZDR patterns, before: a fresh [] when no policy": () => zdrPatterns(noPolicy?.zdr.models ?? []),
  "ZDR patterns, after: one shared empty list": () => zdrPatterns(noPolicy?.zdr.models ?? NO_MODELS),
};

const N = 200_000;
for (const [name, fn] of Object.entries(cases)) {
  const runs: number[] = [];
  for (let run = 0; run < 7; run++) {
    const started = performance.now();
    for (let i = 0; i < N; i++) sink += fn(i) === undefined ? 0 : 1;
    runs.push(((performance.now() - started) * 1000) / N);
  }
  runs.sort((a, b) => a - b);
  console.log(`${(runs[3] as number).toFixed(2).padStart(6)} µs  ${name}`);
}
if (sink === 0) console.log("(nothing ran)");

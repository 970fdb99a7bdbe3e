/**
 * What the fail-closed front of the hot path costs per request, in isolation: canonicalising
 * the target, matching the declared endpoint, checking the query, parsing the media type and
 * the JSON body, reading the shape. `node --import tsx bench/canonical.ts [--help]`.
 */
import { performance } from "node:perf_hooks";
import { canonicalTarget } from "../src/proxy/canonical.ts";
import { parseJsonRequest } from "../src/proxy/request-body.ts";
import { checkedQuery, matchEndpoint, providerById, shapeOf } from "../src/providers/index.ts";

if (process.argv.includes("--help")) {
  console.log("Usage: node --import tsx bench/canonical.ts\nPrints µs per request for the canonical-target, endpoint-match and body-parse steps (median of 7 runs of 200k).");
  process.exit(0);
}

const openai = providerById("openai");
const google = providerById("google-ai-studio");
const body = new TextEncoder().encode(JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(2000) }], stream: true }));

const cases = {
  "openai chat: target + endpoint + query": () => {
    const t = canonicalTarget("/openai/v1/chat/completions", "", "/openai");
    const m = matchEndpoint(openai, "POST", t.path);
    checkedQuery(openai, m.spec, t.query, false);
  },
  "gemini stream: target + endpoint + query": () => {
    const t = canonicalTarget("/google-ai-studio/v1beta/models/gemini-2.5-flash:streamGenerateContent", "?alt=sse", "/google-ai-studio/v1beta");
    const m = matchEndpoint(google, "POST", t.path);
    checkedQuery(google, m.spec, t.query, false);
  },
  "openai files (last declared endpoint): target + endpoint": () => {
    const t = canonicalTarget("/openai/v1/uploads", "", "/openai");
    matchEndpoint(openai, "POST", t.path);
  },
  "media type + JSON parse + shape (2 KB body)": () => {
    const parsed = parseJsonRequest(body, "application/json", undefined);
    shapeOf({ spec: openai.endpoints[0] as (typeof openai.endpoints)[number], model: undefined, id: undefined }, [], parsed);
  },
  "JSON.parse alone (2 KB body, the floor of the line above)": () => {
    JSON.parse(new TextDecoder().decode(body));
  },
};

const N = 200_000;
for (const [name, fn] of Object.entries(cases)) {
  for (let i = 0; i < 20_000; i++) fn();
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const start = performance.now();
    for (let i = 0; i < N; i++) fn();
    runs.push(((performance.now() - start) * 1000) / N);
  }
  runs.sort((a, b) => a - b);
  console.log(`${name.padEnd(60)} ${(runs[3] as number).toFixed(3)} µs/request (min ${(runs[0] as number).toFixed(3)})`);
}

import type { LedgerRow } from "../ledger/index.ts";

/** Seconds; covers a fast non-streamed call up to a long agentic stream. */
export const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] as const;
export const TTFB_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
/** Client-chosen model names could otherwise grow the label space without bound. */
const MAX_SERIES = 2000;

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

const TOKEN_KINDS = ["input", "output", "cache_read", "cache_write", "reasoning"] as const;

/**
 * Prometheus counters and histograms kept in memory and fed from every request's end (the
 * metrics subscriber of the proxy's observer, src/metrics/observer.ts): requests, tokens,
 * cost, latency, denials. O(1) per request; rendering
 * is done on scrape. No caller ids in labels (privacy, cardinality).
 */
export class MetricsRegistry {
  private readonly requests = new Map<string, number>();
  private readonly tokens = new Map<string, number>();
  private readonly cost = new Map<string, number>();
  private readonly denials = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();
  private readonly ttfb = new Map<string, Histogram>();
  /** Rendered label sets per provider and model, so a request renders and joins nothing. */
  private readonly labelSets = new Map<string, Map<string, ModelLabels>>();
  private modelCount = 0;
  /** Extra series rendered on scrape by other parts (the ledger's queue, spool and drops). */
  private readonly collectors: Array<(out: string[]) => void> = [];

  /** Adds lines to every scrape (`# HELP`/`# TYPE` included); see `metricLines`. */
  addCollector(collect: (out: string[]) => void): void {
    this.collectors.push(collect);
  }

  private readonly estimated = new Map<string, number>();
  /** Requests with tokens on a model without a price: counted here, never as $0 in the cost counter. */
  private readonly unpriced = new Map<string, number>();
  /** Requests per coding client (src/ledger/client.ts: six names, so a bounded label). */
  private readonly byClient = new Map<string, number>();
  private readonly estimatedCost = new Map<string, number>();
  /** Upstream attempts per pool key, by the key's configured NAME (bounded by the config; never its value). */
  private readonly keyAttempts = new Map<string, number>();
  private readonly gauges: Gauge[] = [];

  /**
   * A value read at scrape time (pool sockets, requests in flight): `read` returns one
   * number, or label sets (`provider="openai"`) with theirs. Registered once at start.
   */
  gauge(name: string, help: string, read: () => number | ReadonlyArray<readonly [string, number]>, type: "gauge" | "counter" = "gauge"): void {
    this.gauges.push({ name, help, read, type });
  }

  /** A request with a ledger row: its usage, cost and timings. */
  observe(row: LedgerRow): void {
    const set = this.labelsFor(row.provider, row.model);
    this.countRequest(set, row.provider, row.outcome, row.status, row.error_code ?? null);
    const cacheWrite = (row.cache_write_5m_tokens ?? 0) + (row.cache_write_1h_tokens ?? 0);
    if ((row.input_tokens ?? 0) > 0) inc(this.tokens, set.tokens.input, row.input_tokens ?? 0);
    if ((row.output_tokens ?? 0) > 0) inc(this.tokens, set.tokens.output, row.output_tokens ?? 0);
    if ((row.cache_read_tokens ?? 0) > 0) inc(this.tokens, set.tokens.cache_read, row.cache_read_tokens ?? 0);
    if (cacheWrite > 0) inc(this.tokens, set.tokens.cache_write, cacheWrite);
    if ((row.reasoning_tokens ?? 0) > 0) inc(this.tokens, set.tokens.reasoning, row.reasoning_tokens ?? 0);
    // An unpriced request's cost is unknown: it gets no cost sample (a 0 would read as free), only its own counter.
    if (row.unpriced === 1) inc(this.unpriced, set.model, 1);
    else if ((row.cost_usd ?? 0) > 0) inc(this.cost, set.model, row.cost_usd ?? 0);
    inc(this.byClient, clientLabels(row.client), 1);
    if (row.estimated === 1) {
      inc(this.estimated, set.model, 1);
      if (row.unpriced !== 1 && (row.cost_usd ?? 0) > 0) inc(this.estimatedCost, set.model, row.cost_usd ?? 0);
    }
    if (row.outcome !== "not_forwarded") {
      observeHistogram(this.durations, set.provider, DURATION_BUCKETS, row.duration_ms / 1000);
      if (row.ttfb_ms !== null && row.ttfb_ms !== undefined) observeHistogram(this.ttfb, set.provider, TTFB_BUCKETS, row.ttfb_ms / 1000);
    }
  }

  /**
   * A request that ended without a ledger row (refused before or at authentication: a
   * refused method, a bad or missing token): counted as a request and a denial, with no
   * model (`unknown`) and no usage.
   */
  observeUnattributed(provider: string, outcome: string, status: number, errorCode: string | null): void {
    this.countRequest(this.labelsFor(provider, UNKNOWN_MODEL), provider, outcome, status, errorCode);
  }

  private countRequest(set: ModelLabels, provider: string, outcome: string, status: number, errorCode: string | null): void {
    const statusClass = status === 0 ? "none" : `${Math.floor(status / 100)}xx`;
    inc(this.requests, set.request(outcome, statusClass), 1);
    if (outcome === "not_forwarded" && errorCode) inc(this.denials, labels("provider", provider, "reason", errorCode), 1);
  }

  /** One upstream attempt made with a pool key: its name and the upstream's status class (`none` when it never answered). */
  observeKeyAttempt(provider: string, keyName: string, status: number): void {
    const statusClass = status === 0 ? "none" : `${Math.floor(status / 100)}xx`;
    inc(this.keyAttempts, labels("provider", provider, "key", keyName, "status", statusClass), 1);
  }

  /** The Prometheus text exposition format, version 0.0.4. */
  render(): string {
    const out: string[] = [];
    counter(out, "gatehouse_requests_total", "Requests handled, by provider, model, outcome and status class.", this.requests);
    counter(out, "gatehouse_tokens_total", "Tokens processed, by provider, model and kind.", this.tokens);
    counter(out, "gatehouse_cost_usd_total", "Cost in USD, by provider and model.", this.cost);
    counter(out, "gatehouse_denials_total", "Requests refused before forwarding (policy, auth, bad input), by reason.", this.denials);
    histogram(out, "gatehouse_request_duration_seconds", "Whole request duration, stream included.", DURATION_BUCKETS, this.durations);
    histogram(out, "gatehouse_ttfb_seconds", "Time to the first response byte.", TTFB_BUCKETS, this.ttfb);
    counter(out, "gatehouse_estimated_requests_total", "Requests whose usage the provider never sent (abort, broken stream), counted by the gateway, by provider and model.", this.estimated);
    counter(out, "gatehouse_estimated_cost_usd_total", "The part of gatehouse_cost_usd_total priced from estimated usage, by provider and model.", this.estimatedCost);
    counter(out, "gatehouse_unpriced_requests_total", "Requests with tokens on a model without a price (not in gatehouse_cost_usd_total: their cost is unknown), by provider and model.", this.unpriced);
    counter(out, "gatehouse_client_requests_total", "Requests with a ledger row, by the coding client their user agent names (opencode, claude-code, codex, gemini-cli, sdk, other).", this.byClient);
    counter(out, "gatehouse_provider_key_attempts_total", "Upstream attempts per key of a provider's key pool, by the key's configured name and the upstream's status class (none: no answer).", this.keyAttempts);
    for (const gauge of this.gauges) {
      const value = gauge.read();
      out.push(`# HELP ${gauge.name} ${gauge.help}`, `# TYPE ${gauge.name} ${gauge.type}`);
      if (typeof value === "number") out.push(`${gauge.name} ${value}`);
      else for (const [key, v] of value) out.push(`${gauge.name}{${key}} ${v}`);
    }
    for (const collect of this.collectors) collect(out);
    return `${out.join("\n")}\n`;
  }

  /** Past MAX_SERIES models, new ones share the "other" label sets of their provider. */
  private labelsFor(provider: string, model: string): ModelLabels {
    let byModel = this.labelSets.get(provider);
    if (!byModel) {
      byModel = new Map();
      this.labelSets.set(provider, byModel);
    }
    let set = byModel.get(model);
    if (set) return set;
    if (this.modelCount >= MAX_SERIES) {
      set = byModel.get(OTHER_MODEL) ?? modelLabels(provider, OTHER_MODEL);
      byModel.set(OTHER_MODEL, set);
      return set;
    }
    this.modelCount++;
    set = modelLabels(provider, model);
    byModel.set(model, set);
    return set;
  }
}

const OTHER_MODEL = "other";

const CLIENT_LABELS = new Map<string, string>();
/**
 * `client="codex"`; a row from before the client was recorded is `client="unknown"`. The
 * ledger only writes its six names, but the label set is capped anyway: a row is a value.
 */
function clientLabels(client: string | null | undefined): string {
  const name = client ?? "unknown";
  let rendered = CLIENT_LABELS.get(name);
  if (rendered === undefined) {
    if (CLIENT_LABELS.size >= 16) return labels("client", "other");
    rendered = labels("client", name);
    CLIENT_LABELS.set(name, rendered);
  }
  return rendered;
}
/** The model label of a request refused before its model was read (the ledger's own default). */
const UNKNOWN_MODEL = "unknown";

interface Gauge {
  name: string;
  help: string;
  type: "gauge" | "counter";
  read: () => number | ReadonlyArray<readonly [string, number]>;
}

interface ModelLabels {
  /** `provider="…"` */
  provider: string;
  /** `provider="…",model="…"` */
  model: string;
  tokens: Record<(typeof TOKEN_KINDS)[number], string>;
  request(outcome: string, statusClass: string): string;
}

function modelLabels(provider: string, model: string): ModelLabels {
  const requests = new Map<string, string>();
  return {
    provider: labels("provider", provider),
    model: labels("provider", provider, "model", model),
    tokens: Object.fromEntries(TOKEN_KINDS.map((kind) => [kind, labels("provider", provider, "model", model, "kind", kind)])) as ModelLabels["tokens"],
    request(outcome, statusClass) {
      const key = `${outcome} ${statusClass}`;
      let rendered = requests.get(key);
      if (rendered === undefined) {
        rendered = labels("provider", provider, "model", model, "outcome", outcome, "status", statusClass);
        requests.set(key, rendered);
      }
      return rendered;
    },
  };
}

// Rendered label sets by their raw values: escaping per request showed up in profiles.
const renderedLabels = new Map<string, string>();

/** `labels("provider", "openai", "model", "gpt-5")` -> `provider="openai",model="gpt-5"` (escaped, memoised). */
function labels(...pairs: string[]): string {
  const raw = pairs.join("\u0000");
  let rendered = renderedLabels.get(raw);
  if (rendered === undefined) {
    const parts: string[] = [];
    for (let i = 0; i < pairs.length; i += 2) parts.push(`${pairs[i]}="${(pairs[i + 1] ?? "").replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
    rendered = parts.join(",");
    // Bounded like the series themselves (model names come from clients).
    if (renderedLabels.size < MAX_SERIES * 8) renderedLabels.set(raw, rendered);
  }
  return rendered;
}

function inc(map: Map<string, number>, key: string, by: number): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

function observeHistogram(map: Map<string, Histogram>, key: string, bounds: readonly number[], value: number): void {
  let h = map.get(key);
  if (!h) {
    h = { buckets: bounds.map(() => 0), sum: 0, count: 0 };
    map.set(key, h);
  }
  for (let i = 0; i < bounds.length; i++) if (value <= (bounds[i] ?? Infinity)) h.buckets[i] = (h.buckets[i] ?? 0) + 1;
  h.sum += value;
  h.count++;
}

function counter(out: string[], name: string, help: string, series: Map<string, number>): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
  for (const [key, value] of series) out.push(`${name}{${key}} ${value}`);
}

function histogram(out: string[], name: string, help: string, bounds: readonly number[], series: Map<string, Histogram>): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  for (const [key, h] of series) {
    bounds.forEach((bound, i) => out.push(`${name}_bucket{${key},le="${bound}"} ${h.buckets[i] ?? 0}`));
    out.push(`${name}_bucket{${key},le="+Inf"} ${h.count}`, `${name}_sum{${key}} ${h.sum}`, `${name}_count{${key}} ${h.count}`);
  }
}

/** One unlabelled sample with its HELP and TYPE lines, for collectors. */
export function metricLines(out: string[], name: string, type: "gauge" | "counter", help: string, value: number): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
}

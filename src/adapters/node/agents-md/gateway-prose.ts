import type { Kysely } from "kysely";
import { ProseCallError, type ProseAnswer, type ProseCost, type ProseRequest, type ProseWriter } from "../../../agents-md/index.ts";
import { isProviderId } from "../../../providers/index.ts";
import { GatewayTransport } from "../../../review/index.ts";
import { parseModelRef } from "../../../review/model/types.ts";
import type { Pricer } from "../../../review/index.ts";
import type { Database } from "../../../store/index.ts";
import type { TokenUsage } from "../../../usage/types.ts";

export interface GatewayProseOptions {
  /** The gateway's base URL (its own, not a provider's): the spend lands in its ledger and its policy applies. */
  gatewayUrl: string;
  /** A gateway token (never a provider key). */
  token: string;
  /** `compat/<model>` (the default route), or `<provider>/<model>`; a bare model id is taken as `compat/<id>`. */
  model: string;
  /** The gateway's store: the ledger row of each call is read by its request id. */
  db: Kysely<Database>;
  /** Prices the answer's usage when no ledger row shows up in time (a gateway on another store). */
  pricer: Pricer;
  /** How long to wait for the gateway's ledger writer to flush the row (default 5 s; it flushes every 250 ms). */
  ledgerWaitMs?: number;
  /** One call at most this long (default 120 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** `compat/x`, `anthropic/x` as given; anything whose first segment is no provider (`@cf/qwen/…`, `llama3`) goes to `/compat`. */
export function proseModelRef(model: string): string {
  const first = model.split("/")[0] ?? "";
  return model.includes("/") && isProviderId(first) ? model : `compat/${model}`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The model that writes AGENTS.md prose: a non-streamed chat completion sent to the gateway's
 * own route for the model's provider (`/compat/v1/chat/completions` by default) with a gateway
 * token, so policy, budgets and the ledger see it like any other call. The cost is the
 * gateway's ledger row of the request (by its `x-gatehouse-request-id`); when that row does not
 * show up within `ledgerWaitMs` (the gateway writes another store), the answer's usage is
 * priced with the gateway's pricer, and the report says which.
 */
export function gatewayProseWriter(options: GatewayProseOptions): ProseWriter {
  const ref = parseModelRef(proseModelRef(options.model));
  const ledgerWaitMs = options.ledgerWaitMs ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 120_000;

  const costOf = async (requestId: string | undefined, usage: TokenUsage | undefined): Promise<ProseCost> => {
    if (requestId !== undefined) {
      const deadline = Date.now() + ledgerWaitMs;
      for (;;) {
        const row = await options.db.selectFrom("ledger").select(["cost_usd", "unpriced"]).where("request_id", "=", requestId).executeTakeFirst();
        if (row) return { usd: Number(row.cost_usd), source: "ledger", unpriced: Number(row.unpriced) === 1, requestId };
        if (Date.now() >= deadline) break;
        await sleep(100);
      }
    }
    const priced = usage ? options.pricer(ref.ref, usage) : undefined;
    // No price (or none that is a number): counted as unpriced, never as a silent 0.
    const usd = priced !== undefined && Number.isFinite(priced) && priced >= 0 ? priced : undefined;
    const cost: ProseCost = { usd: usd ?? 0, source: "usage", unpriced: usd === undefined };
    if (requestId !== undefined) cost.requestId = requestId;
    return cost;
  };

  return {
    model: ref.ref,
    async write(request: ProseRequest, signal: AbortSignal): Promise<ProseAnswer> {
      let requestId: string | undefined;
      const fetchImpl = options.fetch ?? fetch;
      const transport = new GatewayTransport({
        baseUrl: options.gatewayUrl,
        token: options.token,
        fetch: async (input, init) => {
          const response = await fetchImpl(input, init);
          requestId = response.headers.get("x-gatehouse-request-id") ?? undefined;
          return response;
        },
      });
      const deadline = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
      try {
        const result = await transport.send(ref, { system: request.system, messages: [{ role: "user", text: request.user }], tools: [], maxTokens: request.maxTokens }, deadline);
        const cost = await costOf(requestId, result.usage);
        if (result.stop === "max_tokens") throw new ProseCallError(`${ref.ref}: the answer was cut at ${request.maxTokens} tokens`, cost);
        return { text: result.text, cost };
      } catch (err) {
        if (err instanceof ProseCallError) throw err;
        // An error answer (refused by the gateway's policy, or the upstream's error) carries no
        // usage, so the ledger prices it at 0: counted as such without waiting for its row (a
        // revoked token must not cost every repo of a fleet the ledger wait).
        const cost: ProseCost = { usd: 0, source: "usage", unpriced: false };
        if (requestId !== undefined) cost.requestId = requestId;
        throw new ProseCallError(err instanceof Error ? err.message : String(err), cost);
      }
    },
  };
}

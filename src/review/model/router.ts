import type { TokenUsage } from "../../usage/types.ts";
import { zeroUsage } from "../../usage/types.ts";
import type { CircuitBreakers } from "./breaker.ts";
import { ModelCallError, parseModelRef, type ChatRequest, type ChatResult, type ChatTransport } from "./types.ts";

export interface ModelAttempt {
  ref: string;
  ok: boolean;
  error?: string | undefined;
  skipped?: boolean | undefined;
}

export interface ModelUsage {
  ref: string;
  calls: number;
  usage: TokenUsage;
}

export class AllModelsFailedError extends Error {
  constructor(readonly attempts: ModelAttempt[]) {
    // An attempt's error already starts with its model ref (ModelCallError).
    super(`every model in the chain failed: ${attempts.map((a) => (a.skipped ? `${a.ref}: skipped, circuit open after earlier failures` : (a.error ?? `${a.ref}: failed`))).join("; ")}`);
    this.name = "AllModelsFailedError";
  }
}

function addUsage(into: TokenUsage, more: TokenUsage): void {
  into.inputTokens += more.inputTokens;
  into.outputTokens += more.outputTokens;
  into.cacheReadTokens += more.cacheReadTokens;
  into.cacheWrite5mTokens += more.cacheWrite5mTokens;
  into.cacheWrite1hTokens += more.cacheWrite1hTokens;
  into.reasoningTokens += more.reasoningTokens;
}

/**
 * One call's deadline, on the global timers rather than AbortSignal.timeout (whose timer no
 * test clock can move): aborts with a TimeoutError, like AbortSignal.timeout does.
 */
function callDeadline(ms: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`the model did not answer within ${ms} ms`, "TimeoutError")), ms);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/**
 * Sends each call down a fallback chain: models with an open circuit are skipped, a failed or
 * timed-out call moves to the next model. The conversation is provider-neutral, so the next
 * model continues where the failed one stopped. Tokens are tallied per model.
 */
export class ModelRouter {
  private readonly usageByRef = new Map<string, ModelUsage>();
  readonly attempts: ModelAttempt[] = [];

  constructor(
    private readonly transport: ChatTransport,
    private readonly breakers: CircuitBreakers,
    private readonly timeoutMs: number,
  ) {}

  async chat(chain: readonly string[], request: ChatRequest): Promise<ChatResult & { ref: string }> {
    const tried: ModelAttempt[] = [];
    for (const ref of chain) {
      if (this.breakers.isOpen(ref)) {
        tried.push({ ref, ok: false, skipped: true });
        continue;
      }
      const deadline = callDeadline(this.timeoutMs);
      try {
        const result = await this.transport.send(parseModelRef(ref), request, deadline.signal);
        this.breakers.success(ref);
        this.record(ref, result.usage);
        const attempt = { ref, ok: true };
        tried.push(attempt);
        this.attempts.push(attempt);
        return { ...result, ref };
      } catch (err) {
        if (!(err instanceof ModelCallError)) throw err;
        // A rejected gateway token fails the same way for every model: stop here.
        if (err.kind === "auth") throw err;
        this.breakers.failure(ref);
        const attempt = { ref, ok: false, error: err.message };
        tried.push(attempt);
        this.attempts.push(attempt);
      } finally {
        deadline.clear();
      }
    }
    throw new AllModelsFailedError(tried);
  }

  private record(ref: string, usage: TokenUsage): void {
    const entry = this.usageByRef.get(ref) ?? { ref, calls: 0, usage: zeroUsage() };
    entry.calls += 1;
    addUsage(entry.usage, usage);
    this.usageByRef.set(ref, entry);
  }

  usage(): ModelUsage[] {
    return [...this.usageByRef.values()].sort((a, b) => (a.ref < b.ref ? -1 : 1));
  }
}

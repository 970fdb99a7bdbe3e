import { describeError } from "../core/app.ts";
import type { Logger } from "../core/logger.ts";

/** Closes one thing the gateway opened (a timer, a pool, a worker thread, the store). */
export type Disposer = () => unknown;

export interface DisposeFailure {
  name: string;
  error: unknown;
}

/**
 * What the gateway opened, in the order it opened it, closed again in reverse order: the one
 * list both a failed start and a shutdown run, so nothing opened can be forgotten by one of
 * them. A disposer that throws is logged and collected and the next one still runs (a hung
 * MCP server must not keep the ledger from being written). `disposeAll` runs once; later
 * calls return the first call's result.
 */
export class DisposerStack {
  private readonly entries: Array<{ name: string; dispose: Disposer }> = [];
  private disposing: Promise<DisposeFailure[]> | undefined;

  constructor(private readonly logger: Logger) {}

  /** Registers what closes the thing just opened; it runs before everything pushed earlier. */
  push(name: string, dispose: Disposer): void {
    // Something opened while the stack is being closed would outlive it: refuse loudly.
    if (this.disposing) throw new Error(`Cannot register "${name}": the gateway is already shutting down.`);
    this.entries.push({ name, dispose });
  }

  /** Names in the order `disposeAll` runs them (last pushed first). */
  order(): string[] {
    return this.entries.map((entry) => entry.name).reverse();
  }

  get disposed(): boolean {
    return this.disposing !== undefined;
  }

  /** Runs every disposer, last pushed first; resolves with those that failed (already logged). */
  disposeAll(): Promise<DisposeFailure[]> {
    this.disposing ??= this.run();
    return this.disposing;
  }

  private async run(): Promise<DisposeFailure[]> {
    const failures: DisposeFailure[] = [];
    for (const { name, dispose } of [...this.entries].reverse()) {
      try {
        await dispose();
      } catch (error) {
        failures.push({ name, error });
        this.logger.error({ err: describeError(error), step: name }, `shutdown step "${name}" failed; continuing with the next`);
      }
    }
    return failures;
  }
}

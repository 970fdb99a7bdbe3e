import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { defaultSandboxLimits, type CodeExecutor, type ExecutionResult, type SandboxLimits, type ToolBridge } from "../../../sandbox/index.ts";
import type { HostToWorker, WorkerToHost } from "./pool-protocol.ts";

export interface WorkerPoolOptions {
  /** Worker threads; default min(4, cores). */
  size?: number;
  /** Extra time past an execution's own deadline before its worker is terminated. */
  watchdogGraceMs?: number;
  defaultLimits?: Partial<SandboxLimits>;
}

interface InFlight {
  bridge: ToolBridge;
  resolve: (result: ExecutionResult) => void;
  reject: (err: Error) => void;
  watchdog: ReturnType<typeof setTimeout>;
  started: number;
}

interface PoolWorker {
  worker: Worker;
  inFlight: Map<string, InFlight>;
  dead: boolean;
}

/**
 * Code Mode's sandbox on Node: QuickJS (WebAssembly) in a pool of worker threads, a fresh
 * runtime per execution. QuickJS's own interrupt handler stops runaway JS; the watchdog
 * here is the second line: a worker that does not answer by deadline + grace is terminated
 * and replaced, failing only its own executions, so the gateway keeps serving.
 */
export class WorkerPoolExecutor implements CodeExecutor {
  private readonly workers: PoolWorker[] = [];
  private readonly size: number;
  private readonly graceMs: number;
  private readonly limits: SandboxLimits;
  private closed = false;
  private nextId = 0;
  /** Workers replaced after a crash or watchdog kill; exposed for tests and metrics. */
  replacedWorkers = 0;

  constructor(options: WorkerPoolOptions = {}) {
    this.size = Math.max(1, options.size ?? Math.min(4, availableParallelism()));
    this.graceMs = options.watchdogGraceMs ?? 2_000;
    this.limits = { ...defaultSandboxLimits, ...options.defaultLimits };
  }

  async execute(code: string, bridge: ToolBridge, limits: Partial<SandboxLimits> = {}): Promise<ExecutionResult> {
    if (this.closed) throw new Error("The sandbox pool is closed.");
    const effective = { ...this.limits, ...limits };
    const target = this.pickWorker();
    const id = String(this.nextId++);
    return new Promise<ExecutionResult>((resolve, reject) => {
      const watchdog = setTimeout(() => this.kill(target, "watchdog"), effective.timeoutMs + this.graceMs);
      target.inFlight.set(id, { bridge, resolve, reject, watchdog, started: performance.now() });
      this.post(target, { type: "run", id, code, limits: effective });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.splice(0);
    await Promise.all(workers.map(async (entry) => {
      entry.dead = true;
      this.failAll(entry, "The sandbox pool closed.");
      await entry.worker.terminate();
    }));
  }

  private pickWorker(): PoolWorker {
    while (this.workers.length < this.size) this.workers.push(this.spawn());
    let best = this.workers[0] as PoolWorker;
    for (const entry of this.workers) if (entry.inFlight.size < best.inFlight.size) best = entry;
    return best;
  }

  private spawn(): PoolWorker {
    // The worker is TypeScript: a JS bootstrap loads it through tsx. env: {} keeps the gateway's secrets out of the thread.
    const workerUrl = new URL("./quickjs-worker.ts", import.meta.url).href;
    const worker = new Worker(new URL("./quickjs-worker-entry.mjs", import.meta.url), { workerData: { workerUrl }, env: {}, stdout: false, stderr: false });
    const entry: PoolWorker = { worker, inFlight: new Map(), dead: false };
    worker.on("message", (message: WorkerToHost) => this.onMessage(entry, message));
    worker.on("error", (err) => this.onExit(entry, `Sandbox worker crashed: ${err.message}`));
    worker.on("exit", (code) => this.onExit(entry, `Sandbox worker exited (code ${code}).`));
    // The pool must not keep the process alive on its own.
    worker.unref();
    return entry;
  }

  private onMessage(entry: PoolWorker, message: WorkerToHost): void {
    if (message.type === "ready") return;
    const flight = entry.inFlight.get(message.id);
    if (!flight) return;
    if (message.type === "call") {
      void flight.bridge(message.name, message.argsJson).then(
        (text) => this.post(entry, { type: "reply", callId: message.callId, text }),
        (err: unknown) => this.post(entry, { type: "reply", callId: message.callId, text: JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }) }),
      );
      return;
    }
    entry.inFlight.delete(message.id);
    clearTimeout(flight.watchdog);
    if (message.type === "done") flight.resolve(message.result);
    else flight.reject(new Error(`Sandbox failed: ${message.message}`));
  }

  private post(entry: PoolWorker, message: HostToWorker): void {
    if (!entry.dead) entry.worker.postMessage(message);
  }

  private kill(entry: PoolWorker, reason: "watchdog"): void {
    if (entry.dead) return;
    this.retire(entry, reason === "watchdog" ? "Execution exceeded its time limit and its sandbox worker was terminated." : reason);
    void entry.worker.terminate();
  }

  private onExit(entry: PoolWorker, message: string): void {
    if (entry.dead) return;
    this.retire(entry, message);
  }

  private retire(entry: PoolWorker, message: string): void {
    entry.dead = true;
    const index = this.workers.indexOf(entry);
    if (index >= 0) this.workers.splice(index, 1);
    if (!this.closed) this.replacedWorkers += 1;
    this.failAll(entry, message);
  }

  private failAll(entry: PoolWorker, message: string): void {
    for (const [id, flight] of entry.inFlight) {
      clearTimeout(flight.watchdog);
      flight.resolve({ resultJson: undefined, error: { kind: "crashed", message }, logs: [], toolCalls: 0, durationMs: performance.now() - flight.started });
      entry.inFlight.delete(id);
    }
  }
}

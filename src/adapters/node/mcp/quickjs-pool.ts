import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { Worker } from "node:worker_threads";
import type { Logger } from "../../../core/logger.ts";
import { silentLogger } from "../../../core/logger.ts";
import { capToolReply, defaultSandboxLimits, SandboxRunEnded, type CodeExecutor, type ExecutionContext, type ExecutionResult, type SandboxLimits, type ToolBridge } from "../../../sandbox/index.ts";
import type { HostToWorker, WorkerToHost } from "./pool-protocol.ts";

export interface WorkerPoolOptions {
  /** Worker threads; default min(4, cores), at least 2 so one caller's CPU-bound code cannot hold every thread. */
  size?: number;
  /** Executions one worker hosts at once (they interleave while waiting on tool calls); default 4. */
  runsPerWorker?: number;
  /** Executions one caller may have running at once; the rest wait in that caller's queue. Default 2. */
  perCallerConcurrency?: number;
  /** Executions one caller may have waiting; more are refused at once. Default 8. */
  maxQueuedPerCaller?: number;
  /** How long an execution may wait for a free slot before it is refused as busy; default 30 s. */
  queueTimeoutMs?: number;
  /** Extra time past an execution's own deadline (counted from its start) before its worker is terminated. */
  watchdogGraceMs?: number;
  /** V8 old-generation limit of each worker (MB): the outer wall; a worker past it dies, not the gateway. Default 128. */
  workerHeapMb?: number;
  defaultLimits?: Partial<SandboxLimits>;
  /** Where worker output (QuickJS diagnostics, anything printed) goes, as structured lines. */
  logger?: Logger;
}

interface Job {
  id: string;
  callerId: string;
  code: string;
  limits: SandboxLimits;
  bridge: ToolBridge;
  resolve: (result: ExecutionResult) => void;
  reject: (err: Error) => void;
  /** queued → dispatched (posted to a worker) → started (the worker began it: its deadline runs). */
  state: "queued" | "dispatched" | "started";
  submitted: number;
  queueTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the worker began it (performance.now()); its deadline is this + limits.timeoutMs. */
  startedAt: number | undefined;
  worker: PoolWorker | undefined;
  /** The upstream calls this execution has outstanding: aborted when it ends. */
  calls: Set<AbortController>;
  /** Set once the execution ended; a call arriving later is refused with it. */
  ended: SandboxRunEnded | undefined;
  /** Shared with the worker: set to 1 to interrupt the run even while its thread is busy in JS. */
  cancelFlag: SharedArrayBuffer;
  detachCancel: (() => void) | undefined;
}

interface PoolWorker {
  worker: Worker;
  jobs: Map<string, Job>;
  ready: boolean;
  dead: boolean;
  /** Fires when every execution begun on this worker is past its deadline + grace: the thread is wedged. */
  watchdog: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Code Mode's sandbox on Node: QuickJS (WebAssembly) in a pool of worker threads, one
 * capped WebAssembly instance per execution.
 *
 * Scheduling: every execution belongs to a caller. A caller has at most
 * `perCallerConcurrency` executions running; the rest wait in its own queue, and free
 * slots go to callers in turn (round robin), so one caller's burst cannot starve another.
 * A worker hosts executions of one caller where it can (a caller's CPU-bound code then
 * only delays that caller), and a new worker is started before another caller's execution
 * is put next to it. An execution's deadline, and the watchdog behind it, start when the
 * worker begins it, never at submission.
 *
 * Walls: QuickJS's interrupt stops runaway JS at its deadline; a worker still busy when
 * every execution it began is past deadline + grace is terminated and replaced. Executions
 * on it that had not begun are queued again (they made no tool call); the begun ones are
 * past their deadline and end as timeouts. Each worker runs with V8 resourceLimits, so a
 * worker that blows its heap dies alone and its executions fail as crashed.
 */
export class WorkerPoolExecutor implements CodeExecutor {
  private readonly workers: PoolWorker[] = [];
  private readonly queues = new Map<string, Job[]>();
  private readonly running = new Map<string, number>();
  private readonly size: number;
  private readonly runsPerWorker: number;
  private readonly perCaller: number;
  private readonly maxQueuedPerCaller: number;
  private readonly queueTimeoutMs: number;
  private readonly graceMs: number;
  private readonly heapMb: number;
  private readonly limits: SandboxLimits;
  private readonly logger: Logger;
  private closed = false;
  private nextId = 0;
  private startupFailures = 0;
  /** Workers replaced after a crash or watchdog kill; exposed for tests and metrics. */
  replacedWorkers = 0;

  constructor(options: WorkerPoolOptions = {}) {
    this.size = Math.max(1, options.size ?? Math.max(2, Math.min(4, availableParallelism())));
    this.runsPerWorker = Math.max(1, options.runsPerWorker ?? 4);
    this.perCaller = Math.max(1, options.perCallerConcurrency ?? 2);
    this.maxQueuedPerCaller = Math.max(0, options.maxQueuedPerCaller ?? 8);
    this.queueTimeoutMs = options.queueTimeoutMs ?? 30_000;
    this.graceMs = options.watchdogGraceMs ?? 2_000;
    this.heapMb = options.workerHeapMb ?? 128;
    this.limits = { ...defaultSandboxLimits, ...options.defaultLimits };
    this.logger = options.logger ?? silentLogger;
  }

  async execute(code: string, bridge: ToolBridge, limits: Partial<SandboxLimits> = {}, context: ExecutionContext = { callerId: "" }): Promise<ExecutionResult> {
    if (this.closed) throw new Error("The sandbox pool is closed.");
    const effective = { ...this.limits, ...limits };
    const callerId = context.callerId;
    const queue = this.queues.get(callerId) ?? [];
    if (queue.length >= this.maxQueuedPerCaller && (this.running.get(callerId) ?? 0) >= this.perCaller) {
      return failure("limit", `You already have ${queue.length} Code Mode executions waiting (the limit is ${this.maxQueuedPerCaller}); wait for them to finish.`, 0);
    }
    if (context.signal?.aborted) return failure("cancelled", "The execution was cancelled.", 0);
    return new Promise<ExecutionResult>((resolve, reject) => {
      const job: Job = {
        id: String(this.nextId++),
        callerId,
        code,
        limits: effective,
        bridge,
        resolve,
        reject,
        state: "queued",
        submitted: performance.now(),
        queueTimer: undefined,
        startedAt: undefined,
        worker: undefined,
        calls: new Set(),
        ended: undefined,
        cancelFlag: new SharedArrayBuffer(4),
        detachCancel: undefined,
      };
      if (context.signal) {
        const signal = context.signal;
        const onAbort = (): void => this.cancel(job);
        signal.addEventListener("abort", onAbort, { once: true });
        job.detachCancel = () => signal.removeEventListener("abort", onAbort);
      }
      this.enqueue(job, false);
      this.dispatch();
    });
  }

  /** Queued executions and running ones per caller; for tests and metrics. */
  stats(): { workers: number; queued: number; running: Record<string, number> } {
    let queued = 0;
    for (const queue of this.queues.values()) queued += queue.length;
    return { workers: this.workers.length, queued, running: Object.fromEntries(this.running) };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const queue of this.queues.values()) for (const job of queue) this.settle(job, failure("crashed", "The sandbox pool closed.", performance.now() - job.submitted), "crashed");
    this.queues.clear();
    const workers = this.workers.splice(0);
    await Promise.all(
      workers.map(async (entry) => {
        entry.dead = true;
        for (const job of entry.jobs.values()) this.settle(job, failure("crashed", "The sandbox pool closed.", performance.now() - job.submitted), "crashed");
        entry.jobs.clear();
        await entry.worker.terminate();
      }),
    );
  }

  private enqueue(job: Job, front: boolean): void {
    job.state = "queued";
    job.worker = undefined;
    const queue = this.queues.get(job.callerId) ?? [];
    if (front) queue.unshift(job);
    else queue.push(job);
    if (!this.queues.has(job.callerId)) this.queues.set(job.callerId, queue);
    job.queueTimer ??= setTimeout(() => {
      job.queueTimer = undefined;
      if (job.state !== "queued") return;
      this.unqueue(job);
      this.settle(job, failure("limit", `The Code Mode sandbox is busy: this execution waited ${this.queueTimeoutMs} ms for a free slot without starting. Try again shortly.`, performance.now() - job.submitted), "crashed");
    }, this.queueTimeoutMs);
  }

  private unqueue(job: Job): void {
    const queue = this.queues.get(job.callerId);
    if (!queue) return;
    const index = queue.indexOf(job);
    if (index >= 0) queue.splice(index, 1);
    if (queue.length === 0) this.queues.delete(job.callerId);
  }

  /** Give free slots to waiting callers in turn. */
  private dispatch(): void {
    if (this.closed) return;
    for (;;) {
      let placed = false;
      for (const [callerId, queue] of this.queues) {
        if ((this.running.get(callerId) ?? 0) >= this.perCaller) continue;
        const worker = this.pickWorker(callerId);
        if (!worker) continue;
        const job = queue.shift() as Job;
        // Served: this caller goes to the back of the line.
        this.queues.delete(callerId);
        if (queue.length > 0) this.queues.set(callerId, queue);
        this.start(job, worker);
        placed = true;
        break;
      }
      if (!placed) return;
    }
  }

  /**
   * A worker for the caller's next execution: one already running only this caller's code,
   * else an idle one, else (when the pool cannot grow now) the least loaded. Undefined: wait.
   */
  private pickWorker(callerId: string): PoolWorker | undefined {
    const usable = this.workers.filter((entry) => entry.ready && !entry.dead && entry.jobs.size < this.runsPerWorker);
    const own = usable.find((entry) => entry.jobs.size > 0 && [...entry.jobs.values()].every((job) => job.callerId === callerId));
    if (own) return own;
    const idle = usable.find((entry) => entry.jobs.size === 0);
    if (idle) return idle;
    if (this.grow()) return undefined;
    let best: PoolWorker | undefined;
    for (const entry of usable) if (!best || entry.jobs.size < best.jobs.size) best = entry;
    return best;
  }

  /** Starts a worker when there is room; true while one is starting (callers wait for it). */
  private grow(): boolean {
    if (this.workers.some((entry) => !entry.ready && !entry.dead)) return true;
    if (this.workers.length >= this.size) return false;
    this.workers.push(this.spawn());
    return true;
  }

  private start(job: Job, worker: PoolWorker): void {
    clearTimeout(job.queueTimer);
    job.queueTimer = undefined;
    job.state = "dispatched";
    job.worker = worker;
    worker.jobs.set(job.id, job);
    this.running.set(job.callerId, (this.running.get(job.callerId) ?? 0) + 1);
    this.post(worker, { type: "run", id: job.id, code: job.code, limits: job.limits, cancelFlag: job.cancelFlag });
  }

  private cancel(job: Job): void {
    if (job.state === "queued") {
      this.unqueue(job);
      this.settle(job, failure("cancelled", "The execution was cancelled.", performance.now() - job.submitted), "cancelled");
      return;
    }
    // The flag reaches code that is busy computing; the message wakes a run waiting on tool calls.
    Atomics.store(new Int32Array(job.cancelFlag), 0, 1);
    if (job.worker) this.post(job.worker, { type: "cancel", id: job.id });
  }

  private spawn(): PoolWorker {
    // The worker is TypeScript: a JS bootstrap loads it through tsx. env: {} keeps the gateway's secrets out of the thread.
    const workerUrl = new URL("./quickjs-worker.ts", import.meta.url).href;
    const worker = new Worker(new URL("./quickjs-worker-entry.mjs", import.meta.url), {
      workerData: { workerUrl },
      env: {},
      // Captured, so nothing the thread prints reaches the process's (JSON) log raw.
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb, maxYoungGenerationSizeMb: 16 },
    });
    const entry: PoolWorker = { worker, jobs: new Map(), ready: false, dead: false, watchdog: undefined };
    this.drain(worker.stdout, "stdout");
    this.drain(worker.stderr, "stderr");
    worker.on("message", (message: WorkerToHost) => this.onMessage(entry, message));
    worker.on("error", (err: Error & { code?: string }) => this.onExit(entry, err.code === "ERR_WORKER_OUT_OF_MEMORY" ? "The sandbox worker ran out of memory and was replaced; run the code again." : `Sandbox worker crashed: ${err.message}`));
    worker.on("exit", (code) => this.onExit(entry, `Sandbox worker exited (code ${code}).`));
    // The pool must not keep the process alive on its own.
    worker.unref();
    return entry;
  }

  private drain(stream: Readable, name: string): void {
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on("line", (line) => this.logger.warn({ stream: name, line: line.slice(0, 2_000) }, "sandbox worker output"));
  }

  private onMessage(entry: PoolWorker, message: WorkerToHost): void {
    if (message.type === "ready") {
      entry.ready = true;
      this.startupFailures = 0;
      this.dispatch();
      return;
    }
    if (message.type === "diagnostic") {
      this.logger.warn({ line: message.text }, "sandbox runtime diagnostic");
      return;
    }
    const job = entry.jobs.get(message.id);
    if (!job) return;
    if (message.type === "started") {
      job.state = "started";
      job.startedAt = performance.now();
      this.rearm(entry);
      return;
    }
    if (message.type === "call") {
      const call = new AbortController();
      job.calls.add(call);
      const reply = job.ended
        ? Promise.resolve(JSON.stringify({ ok: false, error: job.ended.message }))
        : job.bridge(message.name, message.argsJson, call.signal).then(
            (text) => capToolReply(message.name, text, job.limits),
            (err: unknown) => JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }),
          );
      void reply.finally(() => job.calls.delete(call));
      void reply.then((text) => {
        if (entry.jobs.has(job.id)) this.post(entry, { type: "reply", callId: message.callId, text });
      });
      return;
    }
    this.release(job);
    if (message.type === "done") {
      const kind = message.result.error?.kind;
      this.settle(job, message.result, kind === "timeout" ? "timeout" : kind === "cancelled" ? "cancelled" : "finished");
    } else {
      this.finishWith(job, () => job.reject(new Error(`Sandbox failed: ${message.message}`)), "crashed");
    }
    this.dispatch();
  }

  /**
   * The worker's watchdog: the latest deadline of the executions it has begun, plus grace.
   * Not one per execution: executions on a worker share its thread, so one waiting on a
   * tool call can pass its deadline while another's code legitimately runs; only when every
   * begun execution is past deadline + grace is the thread stuck (QuickJS's interrupt did not
   * stop it) and worth terminating.
   */
  private rearm(entry: PoolWorker): void {
    clearTimeout(entry.watchdog);
    entry.watchdog = undefined;
    let latest: number | undefined;
    for (const job of entry.jobs.values()) {
      if (job.startedAt === undefined) continue;
      const deadline = job.startedAt + job.limits.timeoutMs;
      if (latest === undefined || deadline > latest) latest = deadline;
    }
    if (latest === undefined || entry.dead) return;
    entry.watchdog = setTimeout(() => this.kill(entry), Math.max(0, latest - performance.now()) + this.graceMs);
  }

  /** The job leaves its worker and its caller's running count. */
  private release(job: Job): void {
    const worker = job.worker;
    if (worker) {
      worker.jobs.delete(job.id);
      this.rearm(worker);
    }
    job.worker = undefined;
    const count = (this.running.get(job.callerId) ?? 1) - 1;
    if (count > 0) this.running.set(job.callerId, count);
    else this.running.delete(job.callerId);
  }

  private settle(job: Job, result: ExecutionResult, ended: SandboxRunEnded["kind"]): void {
    this.finishWith(job, () => job.resolve(result), ended);
  }

  private finishWith(job: Job, deliver: () => void, ended: SandboxRunEnded["kind"]): void {
    clearTimeout(job.queueTimer);
    job.queueTimer = undefined;
    job.detachCancel?.();
    // Whatever the execution still had in flight upstream is cancelled (notifications/cancelled).
    job.ended = new SandboxRunEnded(ended);
    for (const call of job.calls) call.abort(job.ended);
    job.calls.clear();
    deliver();
  }

  private post(entry: PoolWorker, message: HostToWorker): void {
    if (!entry.dead) entry.worker.postMessage(message);
  }

  private kill(entry: PoolWorker): void {
    if (entry.dead) return;
    this.retire(entry, "", "timeout");
    void entry.worker.terminate();
  }

  private onExit(entry: PoolWorker, message: string): void {
    if (entry.dead) return;
    if (!entry.ready) this.startupFailures += 1;
    this.retire(entry, message, "crashed");
  }

  /** `timeout`: the watchdog fired, so every begun execution on it is past its deadline. */
  private retire(entry: PoolWorker, message: string, cause: "timeout" | "crashed"): void {
    entry.dead = true;
    clearTimeout(entry.watchdog);
    const index = this.workers.indexOf(entry);
    if (index >= 0) this.workers.splice(index, 1);
    if (!this.closed) this.replacedWorkers += 1;
    const jobs = [...entry.jobs.values()];
    entry.jobs.clear();
    for (const job of jobs) {
      const ran = performance.now() - job.submitted;
      job.worker = undefined;
      this.release(job);
      // Never began on the worker, so it made no tool call: safe to run elsewhere.
      if (job.state === "dispatched" && !this.closed) this.enqueue(job, true);
      else if (cause === "timeout") this.settle(job, failure("timeout", `Execution exceeded its time limit (${job.limits.timeoutMs} ms) and its sandbox worker was terminated.`, ran), "timeout");
      else this.settle(job, failure("crashed", message, ran), "crashed");
    }
    // A worker that cannot even start would fail forever: give up on what waits instead of looping.
    if (this.startupFailures >= 3) {
      for (const queue of this.queues.values()) for (const job of queue) this.settle(job, failure("crashed", `The Code Mode sandbox cannot start: ${message}`, performance.now() - job.submitted), "crashed");
      this.queues.clear();
      this.startupFailures = 0;
    }
    this.dispatch();
  }
}

function failure(kind: NonNullable<ExecutionResult["error"]>["kind"], message: string, durationMs: number): ExecutionResult {
  return { resultJson: undefined, error: { kind, message }, logs: [], toolCalls: 0, durationMs };
}

import { shouldInterruptAfterDeadline, type QuickJSContext, type QuickJSHandle, type QuickJSWASMModule } from "quickjs-emscripten";
import { MODULE_BASE_BYTES } from "./bounded-module.ts";
import { LOG_LEVELS, SANDBOX_PRELUDE, wrapUserCode } from "./prelude.ts";
import { capToolReply, markTruncated, SandboxRunEnded, type ExecutionResult, type SandboxErrorKind, type SandboxLimits, type ToolBridge } from "./types.ts";

/**
 * Runs one piece of model code in a fresh QuickJS runtime of a module used for this run
 * only (newBoundedQuickJSModule: its WebAssembly memory is capped, so the heap and every
 * ArrayBuffer, string and array the code makes stay inside the limit). No host object is
 * reachable. The interrupt handler enforces the deadline while JS runs, the race below
 * while it waits on tool calls. Strings leave the sandbox only after their length was
 * checked, so oversized ones are cut inside it rather than copied out whole.
 *
 * When the run ends, every tool call it still has outstanding is aborted (the bridge's
 * signal), so a timeout cancels the upstream calls instead of letting them run on.
 * Synchronous WASM blocks its thread, which is why the Node adapter runs this inside
 * worker threads. The module must not be reused afterwards.
 */
export async function runInQuickJS(
  module: QuickJSWASMModule,
  code: string,
  bridge: ToolBridge,
  limits: SandboxLimits,
  signal?: AbortSignal,
  /** Read by the interrupt handler: a cancel raised from another thread while this one is busy in JS (the signal cannot reach it then). */
  cancelRequested?: () => boolean,
): Promise<ExecutionResult> {
  const cancelled = (): boolean => signal?.aborted === true || cancelRequested?.() === true;
  const started = performance.now();
  const deadline = Date.now() + limits.timeoutMs;
  const logs = new LogCollector(limits.maxLogChars);
  // One controller per outstanding call (not one shared signal: a flood of calls would pile listeners on it).
  const outstanding = new Set<AbortController>();
  let toolCalls = 0;
  let argumentChars = 0;
  let endedBy: SandboxRunEnded["kind"] = "finished";
  const pending = new Set<Promise<void>>();

  const runtime = module.newRuntime();
  runtime.setMemoryLimit(limits.memoryBytes);
  runtime.setMaxStackSize(limits.stackBytes);
  const pastDeadline = shouldInterruptAfterDeadline(deadline);
  runtime.setInterruptHandler((rt) => pastDeadline(rt) || cancelled());
  const vm = runtime.newContext();
  let slicer: QuickJSHandle | undefined;
  const outcome = await evaluate().then(
    (result) => ({ result, failure: undefined }),
    (failure: unknown) => ({ result: abortedResult(failure), failure }),
  );
  // The interrupt handler also fires on a client cancel: that is not a timeout.
  if (cancelled() && outcome.result?.error?.kind === "timeout") outcome.result.error = CANCELLED_ERROR;
  // Nothing the code started may outlive it.
  if (outcome.result?.error?.kind === "timeout") endedBy = "timeout";
  if (cancelled()) endedBy = "cancelled";
  const ended = new SandboxRunEnded(endedBy);
  for (const call of outstanding) call.abort(ended);
  outstanding.clear();
  // Pending bridge replies check vm.alive, so freeing now is safe. A module that aborted
  // while freeing (QuickJS asserts on objects leaked by a stack overflow inside an async
  // function) is simply dropped: it was never going to be used again.
  disposeQuietly(() => {
    slicer?.dispose();
    vm.dispose();
    runtime.dispose();
  });
  if (!outcome.result) throw outcome.failure;
  return outcome.result;

  /**
   * Out of memory, QuickJS sometimes cannot even build the error object and throws null.
   * Such a non-error thrown while the WebAssembly memory is at its ceiling is a memory error.
   */
  function describeFailure(handle: QuickJSHandle): { kind: SandboxErrorKind; message: string } {
    const failure = describeVmError(vm, handle);
    if (failure.kind !== "runtime" || !/^Error: (null|undefined)$/.test(failure.message)) return failure;
    const ceiling = MODULE_BASE_BYTES + limits.memoryBytes;
    return module.getWasmMemory().buffer.byteLength >= ceiling - 4 * 1024 * 1024 ? MEMORY_ERROR : failure;
  }

  function finish(resultJson: string | undefined, error: ExecutionResult["error"]): ExecutionResult {
    return { resultJson, error, logs: logs.lines(), toolCalls, durationMs: performance.now() - started };
  }

  /** The WASM instance aborted mid-run (e.g. memory exhausted where C cannot recover): a clean error, not a crash. */
  function abortedResult(failure: unknown): ExecutionResult | undefined {
    if (!isWasmAbort(failure)) return undefined;
    return finish(undefined, MEMORY_ERROR);
  }

  /** A string handle as host text, cut inside the sandbox when longer than `max`. */
  function readBounded(handle: QuickJSHandle, max: number): { text: string; dropped: number } | undefined {
    if (vm.typeof(handle) !== "string") return undefined;
    // getLength() answers only for objects; a string primitive's length is its own, unforgeable property.
    const lengthHandle = vm.getProp(handle, "length");
    const length = vm.getNumber(lengthHandle);
    lengthHandle.dispose();
    if (length <= max) return { text: vm.getString(handle), dropped: 0 };
    if (max === 0 || !slicer) return { text: "", dropped: length };
    const maxHandle = vm.newNumber(max);
    const cut = vm.callFunction(slicer, vm.undefined, handle, maxHandle);
    maxHandle.dispose();
    if (cut.error) {
      cut.error.dispose();
      return { text: "", dropped: length };
    }
    const text = vm.typeof(cut.value) === "string" ? vm.getString(cut.value) : "";
    cut.value.dispose();
    return { text, dropped: length - text.length };
  }

  /** Why a tool call is refused inside the sandbox (nothing reaches the host), or undefined to make it. */
  function refuseCall(name: string, args: { text: string; dropped: number } | undefined): string | undefined {
    if (toolCalls > limits.maxToolCalls) return `Too many tool calls: the limit is ${limits.maxToolCalls} per execution.`;
    if (name === "") return "Unknown tool: the name is empty or longer than 512 characters.";
    if (!args) return `codemode.${name} takes one object argument.`;
    if (args.dropped > 0) return `codemode.${name}: the arguments are ${args.text.length + args.dropped} characters of JSON; the limit is ${limits.maxToolArgumentChars} per call.`;
    if (argumentChars > limits.maxTotalToolArgumentChars) return `codemode.${name}: this execution's tool-call arguments passed ${limits.maxTotalToolArgumentChars} characters of JSON in total.`;
    return undefined;
  }

  function callBridge(name: string, argsJson: string): Promise<string> {
    const call = new AbortController();
    outstanding.add(call);
    return bridge(name, argsJson, call.signal)
      .then(
        (text) => capToolReply(name, text, limits),
        (err: unknown) => JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }),
      )
      .finally(() => outstanding.delete(call));
  }

  async function evaluate(): Promise<ExecutionResult> {
    const logFn = vm.newFunction("__gatehouseLog", (levelHandle, textHandle) => {
      const level = vm.typeof(levelHandle) === "number" ? (LOG_LEVELS[vm.getNumber(levelHandle)] ?? "log") : "log";
      const line = readBounded(textHandle, logs.room(level));
      if (line) logs.add(level, line.text, line.dropped);
    });
    vm.setProp(vm.global, "__gatehouseLog", logFn);
    logFn.dispose();

    const callFn = vm.newFunction("__gatehouseCall", (nameHandle, argsHandle) => {
      const nameRead = readBounded(nameHandle, 512);
      const name = nameRead && nameRead.dropped === 0 ? nameRead.text : "";
      const args = readBounded(argsHandle, limits.maxToolArgumentChars);
      const deferred = vm.newPromise();
      toolCalls += 1;
      argumentChars += args ? args.text.length + args.dropped : 0;
      const refusal = refuseCall(name, args);
      const reply: Promise<string> = refusal === undefined && args ? callBridge(name, args.text) : Promise.resolve(JSON.stringify({ ok: false, error: refusal }));
      const settled = reply.then((text) => {
        if (!vm.alive) return;
        const handle = vm.newString(text);
        deferred.resolve(handle);
        handle.dispose();
        deferred.dispose();
      });
      pending.add(settled);
      void settled.finally(() => pending.delete(settled));
      return deferred.handle;
    });
    vm.setProp(vm.global, "__gatehouseCall", callFn);
    callFn.dispose();

    if (cancelled()) return finish(undefined, CANCELLED_ERROR);
    const prelude = vm.evalCode(SANDBOX_PRELUDE, "prelude.js");
    if (prelude.error && cancelled()) {
      prelude.error.dispose();
      return finish(undefined, CANCELLED_ERROR);
    }
    if (prelude.error) {
      const failure = describeVmError(vm, prelude.error);
      prelude.error.dispose();
      throw new Error(`Sandbox prelude failed: ${failure.message}`);
    }
    slicer = prelude.value;

    const evaluated = vm.evalCode(wrapUserCode(code), "codemode.js");
    if (evaluated.error) {
      const failure = describeFailure(evaluated.error);
      evaluated.error.dispose();
      return finish(undefined, failure);
    }
    const promise = evaluated.value;
    try {
      for (;;) {
        const jobs = runtime.executePendingJobs();
        if (jobs.error) {
          const failure = describeFailure(jobs.error);
          jobs.error.dispose();
          return finish(undefined, failure);
        }
        const state = vm.getPromiseState(promise);
        if (state.type === "fulfilled") {
          const json = readBounded(state.value, limits.maxResultChars);
          state.value.dispose();
          return finish(json && json.dropped > 0 ? markTruncated(json.text, json.dropped) : json?.text, undefined);
        }
        if (state.type === "rejected") {
          const failure = describeFailure(state.error);
          state.error.dispose();
          return finish(undefined, failure);
        }
        if (cancelled()) return finish(undefined, CANCELLED_ERROR);
        if (pending.size === 0) return finish(undefined, { kind: "runtime", message: "The code's promise never settled (it awaits something that is not a tool call)." });
        const remaining = deadline - Date.now();
        if (remaining <= 0) return finish(undefined, timeoutError(limits));
        const timedOut = await raceWithTimeout([...pending], remaining, signal);
        if (timedOut) return finish(undefined, cancelled() ? CANCELLED_ERROR : timeoutError(limits));
      }
    } finally {
      promise.dispose();
    }
  }
}

const CANCELLED_ERROR = { kind: "cancelled", message: "The execution was cancelled." } as const satisfies { kind: SandboxErrorKind; message: string };
const MEMORY_ERROR = { kind: "memory", message: "Execution ran out of memory (the sandbox's memory limit was hit)." } as const satisfies { kind: SandboxErrorKind; message: string };

function isWasmAbort(err: unknown): boolean {
  return err instanceof WebAssembly.RuntimeError || (err instanceof Error && /^Aborted\(|abort|out of bounds/i.test(err.message));
}

function disposeQuietly(dispose: () => void): void {
  try {
    dispose();
  } catch (err) {
    if (isWasmAbort(err) || (err instanceof Error && /lifetime/i.test(err.message))) return;
    throw err;
  }
}

function timeoutError(limits: SandboxLimits): ExecutionResult["error"] {
  return { kind: "timeout", message: `Execution timed out after ${limits.timeoutMs} ms.` };
}

/** True when the time ran out (or the run was cancelled) before any pending call settled. */
async function raceWithTimeout(promises: Promise<void>[], ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), ms);
    onAbort = () => resolve(true);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([Promise.race(promises).then(() => false), timeout]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

function describeVmError(vm: QuickJSContext, handle: QuickJSHandle): { kind: SandboxErrorKind; message: string } {
  const dumped: unknown = vm.dump(handle);
  let name = "Error";
  let message: string;
  if (dumped && typeof dumped === "object") {
    const record = dumped as Record<string, unknown>;
    name = typeof record["name"] === "string" ? record["name"] : name;
    message = typeof record["message"] === "string" ? record["message"] : JSON.stringify(dumped);
  } else {
    message = String(dumped);
  }
  // An error message is model-controlled text: keep it short.
  if (message.length > 2_000) message = markTruncated(message.slice(0, 2_000), message.length - 2_000);
  if (name === "InternalError" && /interrupted/i.test(message)) return { kind: "timeout", message: "Execution timed out (interrupted while running)." };
  if (/out of memory/i.test(message)) return MEMORY_ERROR;
  if (/stack overflow/i.test(message)) return { kind: "memory", message: "Execution overflowed the stack (recursion too deep)." };
  if (name === "SyntaxError") return { kind: "syntax", message: `SyntaxError: ${message}` };
  return { kind: "runtime", message: `${name}: ${message}` };
}

class LogCollector {
  private readonly kept: string[] = [];
  private used = 0;
  private dropped = 0;

  constructor(private readonly maxChars: number) {}

  /** Characters of text still worth reading for a line of this level. */
  room(level: string): number {
    return Math.max(0, this.maxChars - this.used - (level === "log" ? 0 : level.length + 3));
  }

  add(level: string, text: string, droppedChars: number): void {
    const line = level === "log" ? text : `[${level}] ${text}`;
    this.dropped += droppedChars;
    if (this.used >= this.maxChars) {
      this.dropped += line.length;
      return;
    }
    const room = this.maxChars - this.used;
    const kept = line.length > room ? line.slice(0, room) : line;
    this.dropped += line.length - kept.length;
    this.used += kept.length;
    if (kept.length > 0) this.kept.push(kept);
  }

  lines(): string[] {
    return this.dropped > 0 ? [...this.kept, `…[console output truncated by gatehouse: ${this.dropped} more characters]`] : [...this.kept];
  }
}

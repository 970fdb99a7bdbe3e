import { shouldInterruptAfterDeadline, type QuickJSContext, type QuickJSHandle, type QuickJSWASMModule } from "quickjs-emscripten";
import { SANDBOX_PRELUDE, wrapUserCode } from "./prelude.ts";
import { truncateText, type ExecutionResult, type SandboxErrorKind, type SandboxLimits, type ToolBridge } from "./types.ts";

/**
 * Runs one piece of model code in a fresh QuickJS runtime (WebAssembly: its memory is a
 * separate linear heap, so no host object is reachable). One runtime per call, disposed
 * afterwards; the interrupt handler enforces the deadline while JS runs, the race below
 * while it waits on tool calls. Synchronous WASM blocks its thread, which is why the Node
 * adapter runs this inside worker threads.
 */
export interface RunOutcome extends ExecutionResult {
  /**
   * The WASM module aborted while freeing the runtime (QuickJS asserts on objects leaked by
   * a stack overflow inside an async function). The result is still valid, but the module
   * must not be used again: the caller replaces it (the worker pool replaces the worker).
   */
  moduleBroken: boolean;
}

export async function runInQuickJS(module: QuickJSWASMModule, code: string, bridge: ToolBridge, limits: SandboxLimits): Promise<RunOutcome> {
  const started = performance.now();
  const deadline = Date.now() + limits.timeoutMs;
  const logs = new LogCollector(limits.maxLogChars);
  let toolCalls = 0;
  const pending = new Set<Promise<void>>();

  const runtime = module.newRuntime();
  runtime.setMemoryLimit(limits.memoryBytes);
  runtime.setMaxStackSize(limits.stackBytes);
  runtime.setInterruptHandler(shouldInterruptAfterDeadline(deadline));
  const vm = runtime.newContext();
  const outcome = await evaluate().then(
    (result) => ({ result, failure: undefined }),
    (failure: unknown) => ({ result: undefined, failure }),
  );
  // Pending bridge replies check vm.alive, so freeing now is safe.
  const moduleBroken = disposeQuietly(() => {
    vm.dispose();
    runtime.dispose();
  });
  if (!outcome.result) throw outcome.failure;
  return { ...outcome.result, moduleBroken };

  async function evaluate(): Promise<ExecutionResult> {
    const finish = (resultJson: string | undefined, error: ExecutionResult["error"]): ExecutionResult => ({
      resultJson: resultJson === undefined ? undefined : truncateText(resultJson, limits.maxResultChars),
      error,
      logs: logs.lines(),
      toolCalls,
      durationMs: performance.now() - started,
    });

    const logFn = vm.newFunction("__gatehouseLog", (levelHandle, textHandle) => {
      logs.add(vm.getString(levelHandle), vm.getString(textHandle));
    });
    vm.setProp(vm.global, "__gatehouseLog", logFn);
    logFn.dispose();

    const callFn = vm.newFunction("__gatehouseCall", (nameHandle, argsHandle) => {
      const name = vm.getString(nameHandle);
      const argsJson = vm.getString(argsHandle);
      const deferred = vm.newPromise();
      toolCalls += 1;
      const reply: Promise<string> =
        toolCalls > limits.maxToolCalls
          ? Promise.resolve(JSON.stringify({ ok: false, error: `Too many tool calls: the limit is ${limits.maxToolCalls} per execution.` }))
          : bridge(name, argsJson).catch((err: unknown) => JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }));
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

    const prelude = vm.evalCode(SANDBOX_PRELUDE, "prelude.js");
    if (prelude.error) {
      const failure = describeVmError(vm, prelude.error);
      prelude.error.dispose();
      throw new Error(`Sandbox prelude failed: ${failure.message}`);
    }
    prelude.value.dispose();

    const evaluated = vm.evalCode(wrapUserCode(code), "codemode.js");
    if (evaluated.error) {
      const failure = describeVmError(vm, evaluated.error);
      evaluated.error.dispose();
      return finish(undefined, failure);
    }
    const promise = evaluated.value;
    try {
      for (;;) {
        const jobs = runtime.executePendingJobs();
        if (jobs.error) {
          const failure = describeVmError(vm, jobs.error);
          jobs.error.dispose();
          return finish(undefined, failure);
        }
        const state = vm.getPromiseState(promise);
        if (state.type === "fulfilled") {
          const json = vm.typeof(state.value) === "string" ? vm.getString(state.value) : undefined;
          state.value.dispose();
          return finish(json, undefined);
        }
        if (state.type === "rejected") {
          const failure = describeVmError(vm, state.error);
          state.error.dispose();
          return finish(undefined, failure);
        }
        if (pending.size === 0) return finish(undefined, { kind: "runtime", message: "The code's promise never settled (it awaits something that is not a tool call)." });
        const remaining = deadline - Date.now();
        if (remaining <= 0) return finish(undefined, timeoutError(limits));
        const timedOut = await raceWithTimeout([...pending], remaining);
        if (timedOut) return finish(undefined, timeoutError(limits));
      }
    } finally {
      promise.dispose();
    }
  }
}

/** True when freeing failed: the WASM instance aborted and is unusable from now on. */
function disposeQuietly(dispose: () => void): boolean {
  try {
    dispose();
    return false;
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError || (err instanceof Error && /abort|lifetime/i.test(err.message))) return true;
    throw err;
  }
}

function timeoutError(limits: SandboxLimits): ExecutionResult["error"] {
  return { kind: "timeout", message: `Execution timed out after ${limits.timeoutMs} ms.` };
}

async function raceWithTimeout(promises: Promise<void>[], ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), ms);
  });
  try {
    return await Promise.race([Promise.race(promises).then(() => false), timeout]);
  } finally {
    clearTimeout(timer);
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
  if (name === "InternalError" && /interrupted/i.test(message)) return { kind: "timeout", message: "Execution timed out (interrupted while running)." };
  if (/out of memory/i.test(message)) return { kind: "memory", message: "Execution ran out of memory (the sandbox heap limit was hit)." };
  if (/stack overflow/i.test(message)) return { kind: "memory", message: "Execution overflowed the stack (recursion too deep)." };
  if (name === "SyntaxError") return { kind: "syntax", message: `SyntaxError: ${message}` };
  return { kind: "runtime", message: `${name}: ${message}` };
}

class LogCollector {
  private readonly kept: string[] = [];
  private used = 0;
  private dropped = 0;

  constructor(private readonly maxChars: number) {}

  add(level: string, text: string): void {
    const line = level === "log" ? text : `[${level}] ${text}`;
    if (this.used >= this.maxChars) {
      this.dropped += line.length;
      return;
    }
    const room = this.maxChars - this.used;
    const kept = line.length > room ? line.slice(0, room) : line;
    this.dropped += line.length - kept.length;
    this.used += kept.length;
    this.kept.push(kept);
  }

  lines(): string[] {
    return this.dropped > 0 ? [...this.kept, `…[console output truncated by gatehouse: ${this.dropped} more characters]`] : [...this.kept];
  }
}

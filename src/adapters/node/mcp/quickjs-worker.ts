/**
 * Worker-thread entry of the Code Mode sandbox pool. Each execution gets its own QuickJS
 * WebAssembly instance with a capped memory (newBoundedQuickJSModule) and a fresh runtime;
 * tool calls leave as JSON text messages and their replies come back the same way. Nothing
 * of the host (env, fs, network objects) is passed into the QuickJS heap: the only
 * functions it sees are the two bridge functions.
 */
import { parentPort } from "node:worker_threads";
import { newBoundedQuickJSModule, runInQuickJS } from "../../../sandbox/index.ts";
import type { HostToWorker, WorkerToHost } from "./pool-protocol.ts";

if (!parentPort) throw new Error("quickjs-worker must run in a worker thread");
const port = parentPort;

const waiting = new Map<string, (text: string) => void>();
const cancels = new Map<string, AbortController>();
let nextCallId = 0;

function send(message: WorkerToHost): void {
  port.postMessage(message);
}

const diagnostic = (text: string): void => send({ type: "diagnostic", text: String(text).slice(0, 2_000) });

port.on("message", (message: HostToWorker) => {
  if (message.type === "reply") {
    const resolve = waiting.get(message.callId);
    waiting.delete(message.callId);
    resolve?.(message.text);
    return;
  }
  if (message.type === "cancel") {
    cancels.get(message.id)?.abort();
    return;
  }
  void run(message.id, message.code, message.limits, new Int32Array(message.cancelFlag));
});

async function run(id: string, code: string, limits: Extract<HostToWorker, { type: "run" }>["limits"], cancelFlag: Int32Array): Promise<void> {
  const cancel = new AbortController();
  cancels.set(id, cancel);
  try {
    const module = await newBoundedQuickJSModule(limits.memoryBytes, diagnostic);
    // Sent where the runner takes its deadline (no await in between): the host's watchdog counts from here.
    send({ type: "started", id });
    const result = await runInQuickJS(
      module,
      code,
      (name, argsJson, signal) => {
        const callId = `${id}:${nextCallId++}`;
        return new Promise<string>((resolve) => {
          // The host aborts the upstream call itself when the run ends; here only the waiter goes.
          // Each call has its own signal, aborted at most once.
          signal.addEventListener(
            "abort",
            () => {
              waiting.delete(callId);
              resolve(JSON.stringify({ ok: false, error: "cancelled" }));
            },
            { once: true },
          );
          waiting.set(callId, resolve);
          send({ type: "call", id, callId, name, argsJson });
        });
      },
      limits,
      cancel.signal,
      () => Atomics.load(cancelFlag, 0) === 1,
    );
    send({ type: "done", id, result });
  } catch (err) {
    send({ type: "failed", id, message: err instanceof Error ? err.message : String(err) });
  } finally {
    cancels.delete(id);
  }
}

send({ type: "ready" });

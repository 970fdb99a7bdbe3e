/**
 * Worker-thread entry of the Code Mode sandbox pool. Holds one QuickJS WASM module and runs
 * each execution in a fresh runtime of it; tool calls leave as JSON text messages and their
 * replies come back the same way. Nothing of the host (env, fs, network objects) is passed
 * into the QuickJS heap: the only functions it sees are the two bridge functions.
 */
import { parentPort } from "node:worker_threads";
import { newQuickJSWASMModule, type QuickJSWASMModule } from "quickjs-emscripten";
import { runInQuickJS } from "../../../sandbox/quickjs-runner.ts";
import type { HostToWorker, WorkerToHost } from "./pool-protocol.ts";

if (!parentPort) throw new Error("quickjs-worker must run in a worker thread");
const port = parentPort;

let module: Promise<QuickJSWASMModule> = newQuickJSWASMModule();
const waiting = new Map<string, (text: string) => void>();
let nextCallId = 0;

function send(message: WorkerToHost): void {
  port.postMessage(message);
}

port.on("message", (message: HostToWorker) => {
  if (message.type === "reply") {
    const resolve = waiting.get(message.callId);
    waiting.delete(message.callId);
    resolve?.(message.text);
    return;
  }
  void run(message.id, message.code, message.limits);
});

async function run(id: string, code: string, limits: Extract<HostToWorker, { type: "run" }>["limits"]): Promise<void> {
  try {
    const outcome = await runInQuickJS(await module, code, (name, argsJson) => {
      const callId = `${id}:${nextCallId++}`;
      return new Promise<string>((resolve) => {
        waiting.set(callId, resolve);
        send({ type: "call", id, callId, name, argsJson });
      });
    }, limits);
    const { moduleBroken, ...result } = outcome;
    if (moduleBroken) module = newQuickJSWASMModule();
    send({ type: "done", id, result });
  } catch (err) {
    send({ type: "failed", id, message: err instanceof Error ? err.message : String(err) });
  }
}

send({ type: "ready" });

import type { ExecutionResult, SandboxLimits } from "../../../sandbox/index.ts";

/** Messages between the pool (main thread) and a sandbox worker. Strings and plain data only. */
export type HostToWorker =
  /** cancelFlag: one Int32 the host sets to 1 on cancel; read by QuickJS's interrupt handler even while the worker is busy in JS. */
  | { type: "run"; id: string; code: string; limits: SandboxLimits; cancelFlag: SharedArrayBuffer }
  | { type: "reply"; callId: string; text: string }
  /** The client cancelled this execution. */
  | { type: "cancel"; id: string };

export type WorkerToHost =
  | { type: "ready" }
  /** The run left the worker's queue and its deadline began. */
  | { type: "started"; id: string }
  | { type: "call"; id: string; callId: string; name: string; argsJson: string }
  | { type: "done"; id: string; result: ExecutionResult }
  | { type: "failed"; id: string; message: string }
  /** A line the WebAssembly module printed (QuickJS assertion messages), for the structured log. */
  | { type: "diagnostic"; text: string };

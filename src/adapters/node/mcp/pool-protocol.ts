import type { ExecutionResult, SandboxLimits } from "../../../sandbox/index.ts";

/** Messages between the pool (main thread) and a sandbox worker. Strings and plain data only. */
export type HostToWorker =
  | { type: "run"; id: string; code: string; limits: SandboxLimits }
  | { type: "reply"; callId: string; text: string };

export type WorkerToHost =
  | { type: "ready" }
  | { type: "call"; id: string; callId: string; name: string; argsJson: string }
  | { type: "done"; id: string; result: ExecutionResult }
  | { type: "failed"; id: string; message: string };

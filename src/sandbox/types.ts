/**
 * The sandbox seam used by Code Mode: run model-written JavaScript with a JSON-only bridge
 * to the host. Implementations: quickjs in worker threads (adapters/node/mcp), or the
 * in-thread quickjs runner for runtimes without threads.
 */
export interface SandboxLimits {
  /** Wall-clock budget for the whole execution, tool calls included; counted from when the run starts, not from when it was queued. */
  timeoutMs: number;
  /**
   * Memory of the sandbox: the QuickJS heap and everything it allocates (ArrayBuffers,
   * typed arrays, strings, arrays). Enforced twice: QuickJS's allocator limit, and the
   * WebAssembly memory of the run's own module, which cannot grow past this plus the
   * module's fixed base (MODULE_BASE_BYTES).
   */
  memoryBytes: number;
  /** Native stack limit (deep recursion). */
  stackBytes: number;
  /** Most tool calls one execution may make. */
  maxToolCalls: number;
  /** Console output kept (characters); the rest is dropped with a marker. */
  maxLogChars: number;
  /** Result kept (characters of JSON); the rest is dropped with a marker. */
  maxResultChars: number;
  /** Largest argument JSON of one tool call (characters); a larger call fails inside the sandbox. */
  maxToolArgumentChars: number;
  /** All tool-call argument JSON of one execution together (characters). */
  maxTotalToolArgumentChars: number;
  /** Largest tool result handed into the sandbox (characters of JSON); a larger one is an error there. */
  maxToolReplyChars: number;
}

export const defaultSandboxLimits: SandboxLimits = {
  timeoutMs: 30_000,
  memoryBytes: 64 * 1024 * 1024,
  stackBytes: 256 * 1024,
  maxToolCalls: 200,
  maxLogChars: 16_000,
  maxResultChars: 24_000,
  maxToolArgumentChars: 1024 * 1024,
  maxTotalToolArgumentChars: 8 * 1024 * 1024,
  maxToolReplyChars: 4 * 1024 * 1024,
};

/**
 * Host side of the bridge: a tool name and its arguments as JSON text in, the result as
 * JSON text out. Nothing but strings crosses, so no host object reaches the sandbox.
 * `signal` aborts when the execution ends before the call answered (timeout, crash, or the
 * code returned without awaiting it); its reason is a SandboxRunEnded.
 */
export type ToolBridge = (name: string, argumentsJson: string, signal: AbortSignal) => Promise<string>;

/** Why an execution's outstanding tool calls were cancelled. */
export class SandboxRunEnded extends Error {
  override readonly name = "SandboxRunEnded";
  constructor(readonly kind: "timeout" | "finished" | "crashed" | "cancelled") {
    super(
      kind === "timeout"
        ? "The Code Mode execution timed out; its tool call was cancelled."
        : kind === "finished"
          ? "The Code Mode execution returned before this tool call answered; the call was cancelled."
          : kind === "cancelled"
            ? "The Code Mode execution was cancelled by the client."
            : "The Code Mode sandbox failed; its tool call was cancelled.",
    );
  }
}

/** Per-execution context the executor schedules by. */
export interface ExecutionContext {
  /** Who runs it: executions are queued fairly and limited per caller. */
  callerId: string;
  /** Aborts the execution (the client cancelled). */
  signal?: AbortSignal;
}

export type SandboxErrorKind = "timeout" | "memory" | "runtime" | "syntax" | "limit" | "crashed" | "cancelled";

export interface ExecutionResult {
  /** JSON text of the value the code returned (possibly truncated), absent when undefined or failed. */
  resultJson: string | undefined;
  error: { kind: SandboxErrorKind; message: string } | undefined;
  logs: string[];
  toolCalls: number;
  durationMs: number;
}

export interface CodeExecutor {
  execute(code: string, bridge: ToolBridge, limits?: Partial<SandboxLimits>, context?: ExecutionContext): Promise<ExecutionResult>;
  close(): Promise<void>;
}

export const TRUNCATION_MARKER = "…[truncated by gatehouse:";

/** Cut text at `max` characters and say how much was dropped, so the model knows. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  return markTruncated(text.slice(0, max), text.length - max);
}

/** `kept` followed by the marker saying `dropped` characters are missing. */
export function markTruncated(kept: string, dropped: number): string {
  return `${kept}${TRUNCATION_MARKER} ${dropped} more characters]`;
}

/** The bridge reply a too-large tool result becomes, so the sandbox never receives it. */
export function capToolReply(name: string, text: string, limits: Pick<SandboxLimits, "maxToolReplyChars">): string {
  if (text.length <= limits.maxToolReplyChars) return text;
  return JSON.stringify({ ok: false, error: `codemode.${name} returned ${text.length} characters; the sandbox accepts at most ${limits.maxToolReplyChars} per call. Ask the tool for less (a filter, a page, a smaller range).` });
}

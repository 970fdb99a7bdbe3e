/**
 * The sandbox seam used by Code Mode: run model-written JavaScript with a JSON-only bridge
 * to the host. Implementations: quickjs in worker threads (adapters/node/mcp), or the
 * in-thread quickjs runner for runtimes without threads.
 */
export interface SandboxLimits {
  /** Wall-clock budget for the whole execution, tool calls included. */
  timeoutMs: number;
  /** Heap limit of the JS runtime. */
  memoryBytes: number;
  /** Native stack limit (deep recursion). */
  stackBytes: number;
  /** Most tool calls one execution may make. */
  maxToolCalls: number;
  /** Console output kept (characters); the rest is dropped with a marker. */
  maxLogChars: number;
  /** Result kept (characters of JSON); the rest is dropped with a marker. */
  maxResultChars: number;
}

export const defaultSandboxLimits: SandboxLimits = {
  timeoutMs: 30_000,
  memoryBytes: 64 * 1024 * 1024,
  stackBytes: 256 * 1024,
  maxToolCalls: 200,
  maxLogChars: 16_000,
  maxResultChars: 24_000,
};

/**
 * Host side of the bridge: a tool name and its arguments as JSON text in, the result as
 * JSON text out. Nothing but strings crosses, so no host object reaches the sandbox.
 */
export type ToolBridge = (name: string, argumentsJson: string) => Promise<string>;

export type SandboxErrorKind = "timeout" | "memory" | "runtime" | "syntax" | "limit" | "crashed";

export interface ExecutionResult {
  /** JSON text of the value the code returned (possibly truncated), absent when undefined or failed. */
  resultJson: string | undefined;
  error: { kind: SandboxErrorKind; message: string } | undefined;
  logs: string[];
  toolCalls: number;
  durationMs: number;
}

export interface CodeExecutor {
  execute(code: string, bridge: ToolBridge, limits?: Partial<SandboxLimits>): Promise<ExecutionResult>;
  close(): Promise<void>;
}

export const TRUNCATION_MARKER = "…[truncated by gatehouse:";

/** Cut text at `max` characters and say how much was dropped, so the model knows. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}${TRUNCATION_MARKER} ${text.length - max} more characters]`;
}

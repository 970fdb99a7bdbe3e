export type { CodeExecutor, ExecutionResult, SandboxErrorKind, SandboxLimits, ToolBridge } from "./types.ts";
export { defaultSandboxLimits, truncateText, TRUNCATION_MARKER } from "./types.ts";
export { runInQuickJS } from "./quickjs-runner.ts";
export { InThreadQuickJSExecutor } from "./in-thread.ts";

export type { CodeExecutor, ExecutionContext, ExecutionResult, SandboxErrorKind, SandboxLimits, ToolBridge } from "./types.ts";
export { capToolReply, defaultSandboxLimits, markTruncated, SandboxRunEnded, truncateText, TRUNCATION_MARKER } from "./types.ts";
export { runInQuickJS } from "./quickjs-runner.ts";
export { MODULE_BASE_BYTES, newBoundedQuickJSModule } from "./bounded-module.ts";
export { InThreadQuickJSExecutor } from "./in-thread.ts";

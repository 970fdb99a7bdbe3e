import { newBoundedQuickJSModule } from "./bounded-module.ts";
import { runInQuickJS } from "./quickjs-runner.ts";
import { defaultSandboxLimits, type CodeExecutor, type ExecutionContext, type ExecutionResult, type SandboxLimits, type ToolBridge } from "./types.ts";

/**
 * QuickJS on the calling thread. Correct but blocking while JS runs (bounded by the
 * deadline); for runtimes without worker threads. Node uses the worker pool instead.
 * Each execution gets its own WebAssembly instance with a capped memory.
 */
export class InThreadQuickJSExecutor implements CodeExecutor {
  constructor(private readonly onDiagnostic: (line: string) => void = () => undefined) {}

  async execute(code: string, bridge: ToolBridge, limits: Partial<SandboxLimits> = {}, context?: ExecutionContext): Promise<ExecutionResult> {
    const effective = { ...defaultSandboxLimits, ...limits };
    const module = await newBoundedQuickJSModule(effective.memoryBytes, this.onDiagnostic);
    return runInQuickJS(module, code, bridge, effective, context?.signal);
  }

  async close(): Promise<void> {}
}

import { newQuickJSWASMModule, type QuickJSWASMModule } from "quickjs-emscripten";
import { runInQuickJS } from "./quickjs-runner.ts";
import { defaultSandboxLimits, type CodeExecutor, type ExecutionResult, type SandboxLimits, type ToolBridge } from "./types.ts";

/**
 * QuickJS on the calling thread. Correct but blocking while JS runs (bounded by the
 * deadline); for runtimes without worker threads. Node uses the worker pool instead.
 */
export class InThreadQuickJSExecutor implements CodeExecutor {
  private module: Promise<QuickJSWASMModule> | undefined;

  async execute(code: string, bridge: ToolBridge, limits: Partial<SandboxLimits> = {}): Promise<ExecutionResult> {
    this.module ??= newQuickJSWASMModule();
    const { moduleBroken, ...result } = await runInQuickJS(await this.module, code, bridge, { ...defaultSandboxLimits, ...limits });
    // An aborted WASM instance is never reused: the next call instantiates a new one.
    if (moduleBroken) this.module = undefined;
    return result;
  }

  async close(): Promise<void> {
    this.module = undefined;
  }
}

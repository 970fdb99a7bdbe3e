import { newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC, type CustomizeVariantOptions, type QuickJSWASMModule } from "quickjs-emscripten";

const WASM_PAGE_BYTES = 64 * 1024;

/**
 * What the emscripten build needs before QuickJS allocates anything (static data, the C
 * stack, the allocator's first arena): its own initial memory size.
 */
export const MODULE_BASE_BYTES = 16 * 1024 * 1024;

/**
 * A fresh QuickJS WebAssembly instance for one execution, with a memory that cannot grow past
 * MODULE_BASE_BYTES + heapBytes.
 *
 * Why not only `runtime.setMemoryLimit`: QuickJS's allocator limit does not count every
 * allocation (ArrayBuffer and typed-array storage went past it, and the shared module's
 * memory grew to its 2 GB maximum and never shrank). A WebAssembly memory with a `maximum`
 * is a wall nothing inside can pass: `memory.grow` fails, malloc returns NULL and QuickJS
 * throws "out of memory". One instance per execution also means nothing survives a run
 * (no heap left at its peak, no instance left broken by an abort), and the memory is freed
 * when the instance is collected.
 *
 * `onDiagnostic` receives what the C code prints (QuickJS's assertion messages on abort), so
 * it can be logged as a structured line instead of reaching the process's stderr raw.
 */
export async function newBoundedQuickJSModule(heapBytes: number, onDiagnostic: (line: string) => void): Promise<QuickJSWASMModule> {
  const memory = new WebAssembly.Memory({
    initial: MODULE_BASE_BYTES / WASM_PAGE_BYTES,
    maximum: Math.ceil((MODULE_BASE_BYTES + heapBytes) / WASM_PAGE_BYTES),
  });
  // print/printErr are emscripten Module options the quickjs typings leave out.
  const emscriptenModule: NonNullable<CustomizeVariantOptions["emscriptenModule"]> & { print(line: string): void; printErr(line: string): void } = {
    wasmMemory: memory,
    print: onDiagnostic,
    printErr: onDiagnostic,
  };
  return newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmMemory: memory, emscriptenModule }));
}

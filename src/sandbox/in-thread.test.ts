import { describe, expect, it } from "vitest";
import { InThreadQuickJSExecutor } from "./in-thread.ts";
import { wrapUserCode } from "./prelude.ts";

const executor = new InThreadQuickJSExecutor();
const bridge = async (name: string): Promise<string> => JSON.stringify({ ok: true, value: name });

describe("QuickJS runner", () => {
  it("accepts a function body or an async arrow function", async () => {
    expect((await executor.execute("return 1 + 1", bridge)).resultJson).toBe("2");
    expect((await executor.execute("async () => { return await codemode.a_b({}) }", bridge)).resultJson).toBe('"a_b"');
    expect(wrapUserCode("async function () { return 1 }")).toContain("return await (async function () { return 1 })();");
  });

  it("reports syntax errors, thrown errors and undefined results", async () => {
    expect((await executor.execute("return (", bridge)).error?.kind).toBe("syntax");
    expect((await executor.execute("throw new TypeError('nope')", bridge)).error).toEqual({ kind: "runtime", message: "TypeError: nope" });
    const none = await executor.execute("const x = 1;", bridge);
    expect(none.resultJson).toBeUndefined();
    expect(none.error).toBeUndefined();
  });

  it("recovers from a stack overflow inside async code (QuickJS aborts when freeing that runtime)", async () => {
    for (let i = 0; i < 3; i++) {
      const result = await executor.execute("function f() { return f() + 1 } return f()", bridge);
      expect(result.error?.message).toMatch(/stack/);
    }
    expect((await executor.execute("return 'still fine'", bridge)).resultJson).toBe('"still fine"');
  });

  it("enforces the memory limit", async () => {
    for (const bomb of ["return 'x'.repeat(2 ** 26).length", "const a = new Array(1e7).fill(1); return a.length"]) {
      const result = await executor.execute(bomb, bridge, { memoryBytes: 8 * 1024 * 1024 });
      expect(result.error?.kind).toBe("memory");
    }
  });

  it("contains a slow memory bomb (GC thrash near the limit) by the deadline", async () => {
    const started = performance.now();
    const result = await executor.execute("const a = []; for (;;) a.push({ x: new Array(1000).fill(1) });", bridge, { memoryBytes: 8 * 1024 * 1024, timeoutMs: 1_000 });
    expect(["memory", "timeout"]).toContain(result.error?.kind);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("truncates results and console output with a marker", async () => {
    const result = await executor.execute("console.log('x'.repeat(500)); return 'y'.repeat(500)", bridge, { maxResultChars: 100, maxLogChars: 50 });
    expect(result.resultJson).toMatch(/^"y{99}…\[truncated by gatehouse: 402 more characters\]$/);
    expect(result.logs).toEqual(["x".repeat(50), "…[console output truncated by gatehouse: 450 more characters]"]);
  });
});

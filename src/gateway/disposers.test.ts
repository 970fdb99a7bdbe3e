import { describe, expect, it } from "vitest";
import type { Logger } from "../core/logger.ts";
import { DisposerStack } from "./disposers.ts";

function recordingLogger(): Logger & { errors: Array<{ fields: Record<string, unknown>; message: string }> } {
  const errors: Array<{ fields: Record<string, unknown>; message: string }> = [];
  return { errors, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (fields, message) => errors.push({ fields, message }) };
}

describe("DisposerStack", () => {
  it("disposes in reverse order of registration, awaiting each before the next", async () => {
    const stack = new DisposerStack(recordingLogger());
    const ran: string[] = [];
    stack.push("store", () => ran.push("store"));
    stack.push("ledger", async () => {
      // A slow async disposer: the next one must not start before it ends.
      await new Promise((resolve) => setTimeout(resolve, 5));
      ran.push("ledger");
    });
    stack.push("mcp", () => ran.push("mcp"));
    expect(stack.order()).toEqual(["mcp", "ledger", "store"]);
    expect(await stack.disposeAll()).toEqual([]);
    expect(ran).toEqual(["mcp", "ledger", "store"]);
  });

  it("a failing disposer (thrown or rejected) is logged and collected, and the ones after it still run", async () => {
    const logger = recordingLogger();
    const stack = new DisposerStack(logger);
    const ran: string[] = [];
    stack.push("store", () => ran.push("store"));
    stack.push("ledger", () => Promise.reject(new Error("disk full")));
    stack.push("sandbox", () => ran.push("sandbox"));
    stack.push("mcp", () => {
      throw new Error("upstream hung");
    });
    const failures = await stack.disposeAll();
    expect(ran).toEqual(["sandbox", "store"]);
    expect(failures.map((f) => f.name)).toEqual(["mcp", "ledger"]);
    expect(logger.errors.map((e) => e.fields["step"])).toEqual(["mcp", "ledger"]);
    expect(logger.errors[0]?.fields["err"]).toEqual({ name: "Error", message: "upstream hung" });
  });

  it("is idempotent: a second disposeAll (a second signal, or a failed start racing a close) runs nothing again", async () => {
    const stack = new DisposerStack(recordingLogger());
    let runs = 0;
    stack.push("once", () => runs++);
    const [a, b] = [stack.disposeAll(), stack.disposeAll()];
    expect(a).toBe(b);
    await a;
    await stack.disposeAll();
    expect(runs).toBe(1);
    expect(stack.disposed).toBe(true);
  });

  it("refuses a disposer registered once disposal started (it would never run)", async () => {
    const stack = new DisposerStack(recordingLogger());
    await stack.disposeAll();
    expect(() => stack.push("late", () => undefined)).toThrow(/already shutting down/);
  });
});

import { describe, expect, it } from "vitest";
import { barProgress, jsonProgress } from "./progress.ts";

describe("job progress", () => {
  it("draws a bar in place on a terminal, counting a resumed job's finished steps", () => {
    const out: string[] = [];
    const bar = barProgress((t) => out.push(t));
    bar.start("j", 4, 2);
    bar.step({ item: "a", status: "pending", attempt: 1, costUsd: 0.5, error: "503" });
    bar.step({ item: "a", status: "done", attempt: 2, costUsd: 0.25 });
    bar.finish();
    expect(out[0]).toBe(`\r[${"#".repeat(15)}${"-".repeat(15)}] 2/4  failed 0  retrying 0  $0.0000`);
    expect(out[2]).toMatch(/^\r\[#{23}-{7}\] 3\/4 {2}failed 0 {2}retrying 1 {2}\$0\.7500$/);
    expect(out.at(-1)).toBe("\n");
  });

  it("writes one JSON object per line", () => {
    const out: string[] = [];
    const json = jsonProgress(
      (l) => out.push(l),
      () => 7,
    );
    json.start("j", 1, 0);
    json.step({ item: "a", status: "failed", attempt: 3, costUsd: 0, error: "boom" });
    json.finish();
    expect(out.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
    expect(out.map((l) => JSON.parse(l) as unknown)).toEqual([
      { event: "start", job: "j", total: 1, settled: 0, at: 7 },
      { event: "step", job: "j", item: "a", status: "failed", attempt: 3, costUsd: 0, error: "boom", settled: 1, total: 1, at: 7 },
      { event: "finish", job: "j", settled: 1, total: 1, at: 7 },
    ]);
  });
});

import { describe, expect, it } from "vitest";
import { chartHint } from "./page.ts";
import { monthEnd, projectMonth } from "./report.ts";

describe("monthEnd", () => {
  it.each([
    ["2026-02-10", "2026-02-28"],
    ["2028-02-01", "2028-02-29"],
    ["2026-12-31", "2026-12-31"],
    ["2026-04-01", "2026-04-30"],
  ])("%s → %s", (day, end) => expect(monthEnd(day)).toBe(end));
});

describe("projectMonth: the month-to-date pace carried to the month's end", () => {
  it("on the 1st, one day of spend is a line over the whole month", () => {
    const p = projectMonth(40, 10, "2026-03-01");
    expect(p.projection).toHaveLength(31);
    expect(p.projection[0]).toEqual({ day: "2026-03-01", usd: 30 });
    expect(p.projection.at(-1)).toEqual({ day: "2026-03-31", usd: 40 - 310 });
    expect(p.projectedLeftUsd).toBe(40 - 310);
    expect(p.runsOutOn).toBe("2026-03-04");
  });

  it("mid-month", () => {
    const p = projectMonth(100, 50, "2026-04-10");
    expect(p.projection).toHaveLength(21);
    expect(p.projectedLeftUsd).toBe(100 - 5 * 30);
    expect(p.runsOutOn).toBe("2026-04-20");
  });

  it("no spend: all of it left, never runs out; over budget: ran out today", () => {
    expect(projectMonth(40, 0, "2026-03-15")).toMatchObject({ projectedLeftUsd: 40, runsOutOn: null });
    expect(projectMonth(40, 45, "2026-03-15").runsOutOn).toBe("2026-03-15");
  });

  it("a pace that lasts past the month does not run out", () => {
    expect(projectMonth(100, 1, "2026-03-01")).toMatchObject({ projectedLeftUsd: 69, runsOutOn: null });
  });
});

describe("chartHint", () => {
  it("asks for patience below two days of traffic", () => {
    expect(chartHint({ daysWithTraffic: 0 })).toContain("No requests in this range yet");
    expect(chartHint({ daysWithTraffic: 1 })).toContain("Not enough data yet");
    expect(chartHint({ daysWithTraffic: 2 })).toBeUndefined();
  });
});

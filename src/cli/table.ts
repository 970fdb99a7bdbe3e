/** A number as the CLI prints them: "12", "-0.5", "$5,000.00", "<$0.000001". */
const NUMBER = /^-?<?\$?\d[\d,]*(\.\d+)?$/;

/** Plain-text table with right-aligned numeric columns (amounts included), for CLI output. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => NUMBER.test(r[i] ?? "")));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

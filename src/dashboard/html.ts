/**
 * Escaping and formatting for the server-rendered pages. Everything from the ledger goes through `esc`.
 * Key cells (`td.key`: model, team, caller id, tool) take the table's spare width and are cut
 * with an ellipsis past it (width 100% + max-width 0), so a long id never widens a panel.
 */
export function esc(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch);
}

/** JSON safe inside a <script type="application/json"> element. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}

export const fmtInt = (n: number): string => Math.round(n).toLocaleString("en-US");
/** Amounts below this print as "<$0.000001": the ledger keeps micro-dollars. */
const SMALLEST_USD = 0.000001;
/**
 * Money as people read it: cents from $1 up ("$5,000.00"), three significant digits below
 * that so a cheap request is not "$0.00" ("$0.0042", "$0.000012", at most 6 decimals), "$0.00" for nothing.
 */
export function fmtUsd(n: number): string {
  const sign = n < 0 ? "-" : "";
  const abs = Math.abs(n);
  if (abs === 0) return "$0.00";
  if (abs < SMALLEST_USD) return `${sign}<$0.000001`;
  const decimals = abs >= 1 ? 2 : Math.min(6, Math.max(2, 2 - Math.floor(Math.log10(abs))));
  return `${sign}$${abs.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: decimals })}`;
}
/**
 * A cost that may be unknown, as people read it: "$1.20"; "unpriced" when nothing in it had a
 * price (never "$0.00"); "$1.20 + 3 unpriced" when some requests had none (their cost is not
 * in the amount). docs/usage-and-pricing.md, "Unpriced models".
 */
export function fmtCost(c: { costUsd: number; unpricedRequests?: number | undefined }): string {
  const unpriced = c.unpricedRequests ?? 0;
  if (unpriced === 0) return fmtUsd(c.costUsd);
  if (c.costUsd === 0) return "unpriced";
  return `${fmtUsd(c.costUsd)} + ${fmtInt(unpriced)} unpriced`;
}
/** A 0..1 rate as a percentage with one decimal; "–" when there is nothing to rate (null). */
export const fmtRate = (rate: number | null | undefined): string => (rate === null || rate === undefined ? "–" : `${(100 * rate).toFixed(1)}%`);
export const fmtPct = (part: number, whole: number): string => (whole === 0 ? "–" : `${((100 * part) / whole).toFixed(1)}%`);
export const fmtMs = (n: number | null): string => (n === null ? "–" : `${n.toFixed(0)} ms`);

export const STYLE = `
:root{--fg:#1d2433;--muted:#5b6478;--line:#e3e6ee;--bg:#f6f7fb;--card:#fff;--accent:#3559e0;--warn:#b4441b}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:12px;align-items:center;justify-content:space-between;padding:14px 24px;background:var(--card);border-bottom:1px solid var(--line)}
h1{font-size:18px;margin:0}h2{font-size:15px;margin:0 0 10px}main{padding:18px 24px;display:grid;gap:18px}
form.inline{display:flex;gap:8px;align-items:center;flex-wrap:wrap}input,button,select{font:inherit;padding:5px 8px;border:1px solid var(--line);border-radius:6px;background:#fff}
button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer}button.secondary{background:#fff;color:var(--fg);border-color:var(--line)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px}.card,section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px}
.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}.card .value{font-size:22px;font-weight:600;margin-top:4px}.card .sub{color:var(--muted);font-size:12px}
.grid2,.grid3{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(420px,100%),1fr));gap:18px}.grid3{grid-template-columns:repeat(auto-fit,minmax(min(340px,100%),1fr))}
.grid2>*,.grid3>*{min-width:0}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}th:first-child,td:first-child{text-align:left}
th{color:var(--muted);font-weight:500;font-size:12px}td.key{overflow:hidden;text-overflow:ellipsis;width:100%;max-width:0}td.key:focus{white-space:normal;overflow-wrap:anywhere;outline:2px solid var(--accent);outline-offset:-2px}td.id{font-family:ui-monospace,monospace;font-size:11px}td.key.caller{width:40%}section{overflow-x:auto}
.chart{position:relative;height:260px}.muted{color:var(--muted)}.error{color:var(--warn)}a{color:var(--accent)}
.hint{margin:0;padding:8px 12px;border:1px solid #f0d9a8;background:#fff8e6;border-radius:8px;color:#6b4e00}
@media (max-width:640px){
header{padding:10px 12px}main{padding:12px 10px;gap:12px}.card,section{padding:10px}.grid2,.grid3{gap:12px}
.card .value{font-size:18px}th,td{padding:5px 4px}.wide{display:none}
td:first-child{white-space:normal}td.key,td.when{white-space:nowrap}.pct{display:block;color:var(--muted);font-size:12px}
.chart{height:220px}
}
`;

export function layout(title: string, body: string, scripts: string[] = []): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body>${body}${scripts.map((src) => `<script src="${esc(src)}" defer></script>`).join("")}</body></html>`;
}

/** chart.js's UMD bundle as text, bundled by wrangler's Text rule (see wrangler.jsonc). */
declare module "chart.js/dist/chart.umd.js" {
  const text: string;
  export default text;
}

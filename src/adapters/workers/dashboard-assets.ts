import chartUmdJs from "chart.js/dist/chart.umd.js";
import type { DashboardAssets } from "../../dashboard/index.ts";

/**
 * The dashboard's chart.js on Workers: there is no file system to read it from, so the bundle
 * carries it as a text module (wrangler.jsonc's Text rule for chart.umd.js; the package's
 * exports do not list that file, wrangler finds it by path; test/scale/workerd.ts does the same).
 */
export function workerDashboardAssets(): DashboardAssets {
  return { chartJs: () => Promise.resolve(chartUmdJs) };
}

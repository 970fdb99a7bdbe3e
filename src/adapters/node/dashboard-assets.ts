import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { DashboardAssets } from "../../dashboard/index.ts";

/** Reads chart.js from the installed package once, on first use. */
export function nodeDashboardAssets(): DashboardAssets {
  let chart: Promise<string> | undefined;
  return {
    chartJs() {
      // The package exports no subpath for the UMD bundle; it sits beside the main entry (dist/chart.cjs).
      chart ??= readFile(join(dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.js"), "utf8").catch((err: unknown) => {
        chart = undefined;
        throw new Error("chart.js is not installed (node_modules/chart.js/dist/chart.umd.js)", { cause: err });
      });
      return chart;
    },
  };
}

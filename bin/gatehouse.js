#!/usr/bin/env node
// Runs the TypeScript sources directly (compiled as they load by ./ts-loader.mjs), so a fresh
// clone needs no build step.
import { register } from "node:module";

register("./ts-loader.mjs", import.meta.url);
// Stack traces in logs point at the .ts lines (the loader emits inline source maps).
process.setSourceMapsEnabled(true);
const { main } = await import("../src/cli/main.ts");
await main(process.argv);

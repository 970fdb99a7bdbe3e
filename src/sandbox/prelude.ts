/**
 * JavaScript evaluated in every fresh sandbox before the model's code. It captures the two
 * host functions in a closure and deletes them from the global object, then exposes only
 * `codemode` (a Proxy: any property is a tool) and `console`. Values cross as JSON text.
 */
export const SANDBOX_PRELUDE = String.raw`
"use strict";
(() => {
  const hostCall = globalThis.__gatehouseCall;
  const hostLog = globalThis.__gatehouseLog;
  delete globalThis.__gatehouseCall;
  delete globalThis.__gatehouseLog;
  const format = (value) => {
    if (typeof value === "string") return value;
    try { const text = JSON.stringify(value); return text === undefined ? String(value) : text; }
    catch (err) { return String(value); }
  };
  const log = (level) => (...values) => hostLog(level, values.map(format).join(" "));
  globalThis.console = Object.freeze({ log: log("log"), info: log("info"), warn: log("warn"), error: log("error"), debug: log("debug") });
  const call = async (name, args) => {
    const argsJson = JSON.stringify(args === undefined ? {} : args);
    const reply = JSON.parse(await hostCall(name, argsJson));
    if (!reply.ok) throw new Error(reply.error);
    return reply.value;
  };
  globalThis.codemode = new Proxy(Object.freeze({}), {
    get(_target, name) {
      if (typeof name !== "string" || name === "then") return undefined;
      return (args) => call(name, args);
    },
  });
})();
`;

/**
 * The model writes either a function body (using `return` and `await`) or an async arrow
 * function `async () => { … }`; both become one promise whose value is JSON text.
 */
export function wrapUserCode(code: string): string {
  const trimmed = code.trim();
  const isFunction = /^async\s*(\(\s*\)|function\s*\w*\s*\(\s*\))\s*(=>)?/.test(trimmed);
  const body = isFunction ? `return await (${trimmed.replace(/;\s*$/, "")})();` : trimmed;
  return `(async () => {
  const __value = await (async () => {
${body}
  })();
  return __value === undefined ? undefined : JSON.stringify(__value);
})()`;
}

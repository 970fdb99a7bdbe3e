/**
 * JavaScript evaluated in every fresh sandbox before the model's code. It captures the two
 * host functions in a closure and deletes them from the global object, then exposes only
 * `codemode` (a Proxy: any property is a tool) and `console`. Values cross as JSON text.
 *
 * The intrinsics it relies on (JSON, String.prototype.slice, Reflect.apply) are captured
 * before the model's code runs, so replacing them later changes nothing here. The
 * expression's value is a slicer the host uses to cut an oversized string inside the
 * sandbox instead of copying all of it out.
 */
export const LOG_LEVELS = ["log", "info", "warn", "error", "debug"] as const;

export const SANDBOX_PRELUDE = String.raw`
"use strict";
(() => {
  const hostCall = globalThis.__gatehouseCall;
  const hostLog = globalThis.__gatehouseLog;
  delete globalThis.__gatehouseCall;
  delete globalThis.__gatehouseLog;
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const apply = Reflect.apply;
  const slice = String.prototype.slice;
  const join = Array.prototype.join;
  const map = Array.prototype.map;
  const ErrorCtor = Error;
  const format = (value) => {
    if (typeof value === "string") return value;
    try { const text = stringify(value); return text === undefined ? String(value) : text; }
    catch (err) { return String(value); }
  };
  // Levels cross as their index in LOG_LEVELS (a number is cheaper to read than a string).
  const log = (level) => (...values) => hostLog(level, apply(join, apply(map, values, [format]), [" "]));
  globalThis.console = Object.freeze({ log: log(0), info: log(1), warn: log(2), error: log(3), debug: log(4) });
  const call = async (name, args) => {
    const argsJson = stringify(args === undefined ? {} : args);
    const reply = parse(await hostCall(name, argsJson));
    if (!reply.ok) throw new ErrorCtor(reply.error);
    return reply.value;
  };
  globalThis.codemode = new Proxy(Object.freeze({}), {
    get(_target, name) {
      if (typeof name !== "string" || name === "then") return undefined;
      return (args) => call(name, args);
    },
  });
  return (text, length) => apply(slice, text, [0, length]);
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

import { z } from "zod";
import { ErrorCode, McpError, type CallToolResult, type Tool } from "@modelcontextprotocol/sdk/types.js";
import type { Caller } from "../../core/caller.ts";
import { SandboxRunEnded, truncateText, type CodeExecutor, type SandboxLimits } from "../../sandbox/index.ts";
import type { CatalogTool, PortalCatalog } from "../catalog.ts";
import { callExpression, fittedDeclarations, isIdentifierName } from "./declarations.ts";

export const SEARCH_TOOL = "codemode_search";
export const EXECUTE_TOOL = "codemode_execute";
/** Cloudflare's portal truncates around 24 KB; so do we, with a marker the model can see. */
export const MAX_RESPONSE_CHARS = 24_000;

export const searchInputSchema = z
  .object({
    query: z.string().default("").describe("Words to look for in tool names and descriptions; empty lists every tool."),
    limit: z.number().int().min(1).max(100).default(20).describe("Most tools to return."),
  })
  .strict();

export const executeInputSchema = z
  .object({
    code: z
      .string()
      .min(1)
      .max(100_000)
      .describe(
        'JavaScript: an async function body (use `await` and `return`) or `async () => { … }`. Call tools exactly as codemode_search declares them: `await codemode.server_tool({ … })`, or `await codemode["server_tool-name"]({ … })` for names that are not JavaScript identifiers; `Promise.all` runs calls in parallel; `console.log` output is returned.',
      ),
  })
  .strict();

function jsonSchema(schema: z.ZodType): Tool["inputSchema"] {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: "input" }) as Record<string, unknown>;
  return { ...rest, type: "object" };
}

/** The two tools Code Mode shows instead of the whole catalogue. */
export function codeModeTools(): Tool[] {
  return [
    {
      name: SEARCH_TOOL,
      description: "Search the tools you may use. Returns TypeScript declarations of the matching tools as members of `codemode`, to call from codemode_execute.",
      inputSchema: jsonSchema(searchInputSchema),
      annotations: { readOnlyHint: true },
    },
    {
      name: EXECUTE_TOOL,
      description:
        'Run JavaScript in a sandbox (no network, no filesystem) where `codemode.<server>_<tool>(input)` (or `codemode["<server>_<tool-name>"](input)` when the name is not a JavaScript identifier) calls a tool and resolves to its result. Returns the code\'s return value and console output; large outputs are truncated.',
      inputSchema: jsonSchema(executeInputSchema),
    },
  ];
}

export async function runSearch(catalog: PortalCatalog, caller: Caller, rawArgs: unknown): Promise<CallToolResult> {
  const args = parseArgs(searchInputSchema, rawArgs);
  const tools = await catalog.tools(caller);
  const matches = rank(tools, args.query).slice(0, args.limit);
  if (matches.length === 0) return { content: [{ type: "text", text: `No tool matches "${args.query}". ${tools.length} tools are available; search with other words or an empty query.` }] };
  const header = [`// ${matches.length} of ${tools.length} tools. Call them from codemode_execute, e.g. \`return await ${callExpression(matches[0]!.name)}({ … })\`.`];
  const quoted = matches.filter((t) => !isIdentifierName(t.name));
  if (quoted.length > 0) header.push(`// Names that are not JavaScript identifiers are quoted members: call them as written, e.g. ${callExpression(quoted[0]!.name)}({ … }).`);
  const budget = MAX_RESPONSE_CHARS - header.join("\n").length - 200;
  const fitted = fittedDeclarations(
    matches.map((t) => ({ name: t.name, description: t.tool.description, inputSchema: t.tool.inputSchema, outputSchema: t.tool.outputSchema })),
    budget,
  );
  if (fitted.schemasLeftOut > 0) header.push(`// Output too large: ${fitted.schemasLeftOut} tools are shown without their schemas (every name is kept). Search with fewer, more specific words to see them.`);
  const text = `${header.join("\n")}\n${fitted.text}`;
  return { content: [{ type: "text", text: fitted.complete ? text : truncateText(text, MAX_RESPONSE_CHARS) }] };
}

/** Word-overlap ranking over name and description; good enough for catalogues of hundreds. */
function rank(tools: CatalogTool[], query: string): CatalogTool[] {
  const words = query
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  if (words.length === 0) return tools;
  const scored = tools.map((tool) => {
    const name = tool.name.toLowerCase();
    const text = `${name} ${(tool.tool.description ?? "").toLowerCase()}`;
    let score = 0;
    for (const word of words) {
      if (name.includes(word)) score += 3;
      else if (text.includes(word)) score += 1;
    }
    return { tool, score };
  });
  return scored
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score)
    .map((s) => s.tool);
}

export async function runExecute(catalog: PortalCatalog, executor: CodeExecutor, caller: Caller, sessionId: string | undefined, rawArgs: unknown, limits: Partial<SandboxLimits>, signal?: AbortSignal): Promise<CallToolResult> {
  const args = parseArgs(executeInputSchema, rawArgs);
  // Fail closed: a caller who may use no server has nothing to run code against, so no sandbox for them.
  if (catalog.visibleServers(caller).length === 0) throw new McpError(ErrorCode.InvalidRequest, "You may not use any MCP server through this portal, so Code Mode is not available to you. Ask an administrator for access to a server.");
  const outcome = await executor.execute(
    args.code,
    async (name, argsJson, callSignal) => {
      try {
        const parsed: unknown = JSON.parse(argsJson);
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return JSON.stringify({ ok: false, error: `codemode.${name} takes one object argument.` });
        const result = await catalog.callTool(caller, name, parsed as Record<string, unknown>, { sessionId, via: "codemode", signal: upstreamSignal(callSignal) });
        return JSON.stringify(toolValue(name, result));
      } catch (err) {
        return JSON.stringify({ ok: false, error: err instanceof McpError ? err.message : `codemode.${name} failed.` });
      }
    },
    // Result and console get separate budgets inside the response cap, so the answer stays valid JSON.
    { maxLogChars: 6_000, ...limits, maxResultChars: 16_000 },
    { callerId: caller.id, ...(signal ? { signal } : {}) },
  );
  const body: Record<string, unknown> = {};
  if (outcome.resultJson !== undefined) body["result"] = parseOrText(outcome.resultJson);
  if (outcome.logs.length > 0) body["logs"] = outcome.logs;
  if (outcome.error) body["error"] = outcome.error.message;
  body["toolCalls"] = outcome.toolCalls;
  const text = truncateText(JSON.stringify(body), MAX_RESPONSE_CHARS);
  return { content: [{ type: "text", text }], ...(outcome.error ? { isError: true } : {}) };
}

/**
 * The execution's call signal, re-aborted with an McpError: the SDK sends
 * `notifications/cancelled` with the reason's text and rejects the call with that error
 * (an McpError, so it is reported as such, never as an internal failure); the catalogue
 * audits a call whose signal aborted as `cancelled`.
 */
function upstreamSignal(callSignal: AbortSignal): AbortSignal {
  const controller = new AbortController();
  const forward = (): void => {
    const reason: unknown = callSignal.reason;
    controller.abort(new McpError(ErrorCode.RequestTimeout, reason instanceof SandboxRunEnded ? reason.message : "The Code Mode execution ended; its tool call was cancelled."));
  };
  if (callSignal.aborted) forward();
  else callSignal.addEventListener("abort", forward, { once: true });
  return controller.signal;
}

/** What a tool call resolves to in the sandbox: structured content, else the text, else the content list. */
function toolValue(name: string, result: CallToolResult): { ok: true; value: unknown } | { ok: false; error: string } {
  const texts = result.content.filter((c): c is { type: "text"; text: string } => c.type === "text").map((c) => c.text);
  if (result.isError) return { ok: false, error: `codemode.${name}: ${texts.join("\n") || "tool reported an error"}` };
  if (result.structuredContent !== undefined) return { ok: true, value: result.structuredContent };
  if (texts.length === result.content.length) return { ok: true, value: texts.join("\n") };
  return { ok: true, value: result.content };
}

function parseOrText(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch (err) {
    if (err instanceof SyntaxError) return json; // truncated JSON: hand back the text with its marker
    throw err;
  }
}

function parseArgs<T extends z.ZodType>(schema: T, raw: unknown): z.infer<T> {
  const result = schema.safeParse(raw ?? {});
  if (!result.success) throw new McpError(ErrorCode.InvalidParams, `Invalid arguments: ${result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  return result.data;
}

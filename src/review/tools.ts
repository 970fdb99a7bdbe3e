import { z } from "zod";
import type { ToolCall, ToolResult, ToolSpec } from "./model/types.ts";
import type { HeadSource } from "./source.ts";

const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith("/") && !p.split("/").includes(".."), "path must be relative to the repository root, without ..");

const readFileInput = z.object({
  path: relativePath.describe("File path relative to the repository root."),
  start_line: z.number().int().min(1).optional().describe("First line to return (1-based)."),
  end_line: z.number().int().min(1).optional().describe("Last line to return."),
});
const grepInput = z.object({
  pattern: z.string().min(1).max(500).describe("Extended regular expression (git grep -E)."),
  path: relativePath.optional().describe("Directory or file to search in; default the whole repository."),
});
const listFilesInput = z.object({ path: relativePath.optional().describe("Directory to list; default the repository root.") });

const maxReadLines = 400;
const maxGrepMatches = 80;
const maxListed = 300;

function schemaOf(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: "input" }) as Record<string, unknown>;
  delete json["$schema"];
  return json;
}

/** The tools every specialist gets: they read the checked-out head commit, never the network. */
export function reviewTools(): ToolSpec[] {
  return [
    { name: "read_file", description: `Read a file at the reviewed commit, with line numbers (at most ${maxReadLines} lines per call).`, inputSchema: schemaOf(readFileInput) },
    { name: "grep", description: `Search the repository at the reviewed commit (at most ${maxGrepMatches} matches).`, inputSchema: schemaOf(grepInput) },
    { name: "list_files", description: `List files under a directory at the reviewed commit (at most ${maxListed}).`, inputSchema: schemaOf(listFilesInput) },
  ];
}

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; ");
}

async function run(call: ToolCall, source: HeadSource): Promise<string> {
  if (call.inputError) throw new Error(call.inputError);
  if (call.name === "read_file") {
    const input = readFileInput.safeParse(call.input);
    if (!input.success) throw new Error(issues(input.error));
    const text = await source.read(input.data.path);
    if (text === undefined) throw new Error(`no such file at the reviewed commit: ${input.data.path}`);
    const lines = text.split("\n");
    const start = input.data.start_line ?? 1;
    const end = Math.min(input.data.end_line ?? start + maxReadLines - 1, start + maxReadLines - 1, lines.length);
    const shown = lines.slice(start - 1, end).map((line, i) => `${start + i}\t${line}`);
    const more = end < lines.length ? `\n(${lines.length} lines in total; ask for start_line ${end + 1} to read on)` : "";
    return `${input.data.path}:\n${shown.join("\n")}${more}`;
  }
  if (call.name === "grep") {
    const input = grepInput.safeParse(call.input);
    if (!input.success) throw new Error(issues(input.error));
    const matches = await source.grep(input.data.pattern, input.data.path);
    if (matches.length === 0) return "no matches";
    const shown = matches.slice(0, maxGrepMatches).map((m) => `${m.path}:${m.line}: ${m.text.slice(0, 300)}`);
    return shown.join("\n") + (matches.length > maxGrepMatches ? `\n(${matches.length - maxGrepMatches} more matches; narrow the pattern or path)` : "");
  }
  if (call.name === "list_files") {
    const input = listFilesInput.safeParse(call.input);
    if (!input.success) throw new Error(issues(input.error));
    const files = await source.list(input.data.path);
    if (files.length === 0) return "no files";
    return files.slice(0, maxListed).join("\n") + (files.length > maxListed ? `\n(${files.length - maxListed} more)` : "");
  }
  throw new Error(`unknown tool "${call.name}"; the tools are read_file, grep, list_files`);
}

/** Runs one tool call; a bad call becomes an error result the model can correct, never a crash. */
export async function runTool(call: ToolCall, source: HeadSource): Promise<ToolResult> {
  try {
    return { id: call.id, content: await run(call, source), isError: false };
  } catch (err) {
    return { id: call.id, content: err instanceof Error ? err.message : String(err), isError: true };
  }
}

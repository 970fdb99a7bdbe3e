/**
 * TypeScript declarations from JSON Schema, so the model sees each tool as a typed function
 * (`codemode.server_tool(input: Server_toolInput): Promise<…>`). Covers what tool schemas use
 * in practice; anything else degrades to `unknown` rather than a wrong type.
 */
type Schema = Record<string, unknown>;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function typeName(toolName: string, suffix: "Input" | "Output"): string {
  const pascal = toolName
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join("");
  return `${/^[0-9]/.test(pascal) ? "T" : ""}${pascal || "Tool"}${suffix}`;
}

export function schemaToType(schema: unknown, depth = 0): string {
  if (schema === true || schema === undefined) return "unknown";
  if (schema === false) return "never";
  if (!isSchema(schema) || depth > 8) return "unknown";
  if ("const" in schema) return literal(schema["const"]);
  if (Array.isArray(schema["enum"])) return schema["enum"].map(literal).join(" | ") || "never";
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = schema[key];
    if (Array.isArray(options)) return options.map((option) => wrap(schemaToType(option, depth + 1))).join(" | ") || "unknown";
  }
  if (Array.isArray(schema["allOf"])) return schema["allOf"].map((part) => wrap(schemaToType(part, depth + 1))).join(" & ") || "unknown";
  const type = schema["type"];
  if (Array.isArray(type)) return type.map((t) => wrap(schemaToType({ ...schema, type: t }, depth + 1))).join(" | ");
  switch (type) {
    case "string":
      return "string";
    case "number":
    case "integer":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array": {
      const items = schema["items"];
      if (Array.isArray(items)) return `[${items.map((item) => schemaToType(item, depth + 1)).join(", ")}]`;
      return `${wrap(schemaToType(items, depth + 1))}[]`;
    }
    case "object":
      return objectType(schema, depth);
    default:
      return isSchema(schema["properties"]) ? objectType(schema, depth) : "unknown";
  }
}

function objectType(schema: Schema, depth: number): string {
  const properties = isSchema(schema["properties"]) ? schema["properties"] : {};
  const required = new Set(Array.isArray(schema["required"]) ? schema["required"].filter((r): r is string => typeof r === "string") : []);
  const pad = "  ".repeat(depth + 1);
  const lines: string[] = [];
  for (const [key, value] of Object.entries(properties)) {
    const doc = isSchema(value) ? docComment(value) : undefined;
    if (doc) lines.push(`${pad}/** ${doc} */`);
    lines.push(`${pad}${IDENTIFIER.test(key) ? key : JSON.stringify(key)}${required.has(key) ? "" : "?"}: ${schemaToType(value, depth + 1)};`);
  }
  const additional = schema["additionalProperties"];
  if (additional !== undefined && additional !== false) lines.push(`${pad}[key: string]: ${additional === true ? "unknown" : schemaToType(additional, depth + 1)};`);
  if (lines.length === 0) return additional === false ? "Record<string, never>" : "Record<string, unknown>";
  return `{\n${lines.join("\n")}\n${"  ".repeat(depth)}}`;
}

function docComment(schema: Schema): string | undefined {
  const parts: string[] = [];
  if (typeof schema["description"] === "string") parts.push(schema["description"]);
  if (schema["default"] !== undefined) parts.push(`@default ${JSON.stringify(schema["default"])}`);
  if (parts.length === 0) return undefined;
  return parts.join(" ").replace(/\*\//g, "*\\/").replace(/\s+/g, " ").trim();
}

function literal(value: unknown): string {
  return value === undefined ? "undefined" : JSON.stringify(value);
}

function wrap(type: string): string {
  return /[|&]/.test(type) && !type.startsWith("{") ? `(${type})` : type;
}

function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export interface DeclaredTool {
  name: string;
  description: string | undefined;
  inputSchema: unknown;
  outputSchema: unknown;
}

/** Declarations for a set of tools, ending in the `codemode` object the sandbox exposes. */
export function declarationsFor(tools: readonly DeclaredTool[]): string {
  const types: string[] = [];
  const members: string[] = [];
  for (const tool of tools) {
    const input = typeName(tool.name, "Input");
    const output = typeName(tool.name, "Output");
    types.push(`type ${input} = ${schemaToType(tool.inputSchema)};`);
    types.push(`type ${output} = ${tool.outputSchema === undefined ? "string" : schemaToType(tool.outputSchema)};`);
    const doc = tool.description ? `  /** ${tool.description.replace(/\*\//g, "*\\/").replace(/\s+/g, " ").trim()} */\n` : "";
    members.push(`${doc}  ${tool.name}(input: ${input}): Promise<${output}>;`);
  }
  return `${types.join("\n")}\n\ndeclare const codemode: {\n${members.join("\n")}\n};`;
}

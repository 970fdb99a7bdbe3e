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

/** `docs: false` leaves out property descriptions: the compact form search falls back to when output is large. */
export function schemaToType(schema: unknown, depth = 0, docs = true): string {
  if (schema === true || schema === undefined) return "unknown";
  if (schema === false) return "never";
  if (!isSchema(schema) || depth > 8) return "unknown";
  if ("const" in schema) return literal(schema["const"]);
  if (Array.isArray(schema["enum"])) return schema["enum"].map(literal).join(" | ") || "never";
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = schema[key];
    if (Array.isArray(options)) return options.map((option) => wrap(schemaToType(option, depth + 1, docs))).join(" | ") || "unknown";
  }
  if (Array.isArray(schema["allOf"])) return schema["allOf"].map((part) => wrap(schemaToType(part, depth + 1, docs))).join(" & ") || "unknown";
  const type = schema["type"];
  if (Array.isArray(type)) return (type as unknown[]).map((t) => wrap(schemaToType({ ...schema, type: t }, depth + 1, docs))).join(" | ");
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
      if (Array.isArray(items)) return `[${items.map((item) => schemaToType(item, depth + 1, docs)).join(", ")}]`;
      return `${wrap(schemaToType(items, depth + 1, docs))}[]`;
    }
    case "object":
      return objectType(schema, depth, docs);
    default:
      return isSchema(schema["properties"]) ? objectType(schema, depth, docs) : "unknown";
  }
}

function objectType(schema: Schema, depth: number, docs: boolean): string {
  const properties = isSchema(schema["properties"]) ? schema["properties"] : {};
  const required = new Set(Array.isArray(schema["required"]) ? schema["required"].filter((r): r is string => typeof r === "string") : []);
  const pad = "  ".repeat(depth + 1);
  const lines: string[] = [];
  for (const [key, value] of Object.entries(properties)) {
    const doc = docs && isSchema(value) ? docComment(value) : undefined;
    if (doc) lines.push(`${pad}/** ${doc} */`);
    lines.push(`${pad}${IDENTIFIER.test(key) ? key : JSON.stringify(key)}${required.has(key) ? "" : "?"}: ${schemaToType(value, depth + 1, docs)};`);
  }
  const additional = schema["additionalProperties"];
  if (additional !== undefined && additional !== false) lines.push(`${pad}[key: string]: ${additional === true ? "unknown" : schemaToType(additional, depth + 1, docs)};`);
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

/** True when `codemode.<name>` is valid JavaScript; other names are called as `codemode["<name>"]`. */
export function isIdentifierName(name: string): boolean {
  return IDENTIFIER.test(name);
}

/**
 * How a tool is called from the sandbox, exactly as declared: `codemode.tickets_echo` or,
 * for names that are not JavaScript identifiers (`everything_get-sum`), the quoted member
 * `codemode["everything_get-sum"]`. No renaming, so no two tools can collide.
 */
export function callExpression(name: string): string {
  return isIdentifierName(name) ? `codemode.${name}` : `codemode[${JSON.stringify(name)}]`;
}

function memberKey(name: string): string {
  return isIdentifierName(name) ? name : JSON.stringify(name);
}

interface DeclarationOptions {
  /** Characters of each tool description kept in its doc comment; default all. */
  maxDocChars?: number;
  /** How much of each tool's types is declared; default all of every tool's. */
  detail?: ReadonlyMap<string, TypeDetail>;
}

interface RenderedTool {
  name: string;
  member: string;
  /** Input/output types with property docs, without them, and a placeholder: what each tool can give way to. */
  types: string;
  compact: string;
  placeholder: string;
}

type TypeDetail = "full" | "compact" | "placeholder";

/** Input/Output type names for each tool, unique even when two names only differ in punctuation (get-sum, get_sum). */
function uniqueTypeNames(tools: readonly DeclaredTool[]): Map<string, { input: string; output: string }> {
  const used = new Set<string>();
  const names = new Map<string, { input: string; output: string }>();
  for (const tool of tools) {
    let base = typeName(tool.name, "Input").slice(0, -"Input".length);
    for (let n = 2; used.has(base); n++) base = `${typeName(tool.name, "Input").slice(0, -"Input".length)}${n}`;
    used.add(base);
    names.set(tool.name, { input: `${base}Input`, output: `${base}Output` });
  }
  return names;
}

function renderTools(tools: readonly DeclaredTool[], options: DeclarationOptions): RenderedTool[] {
  const typeNames = uniqueTypeNames(tools);
  return tools.map((tool) => {
    const { input, output } = typeNames.get(tool.name) as { input: string; output: string };
    let description = tool.description ? tool.description.replace(/\*\//g, "*\\/").replace(/\s+/g, " ").trim() : "";
    if (options.maxDocChars !== undefined && description.length > options.maxDocChars) description = `${description.slice(0, options.maxDocChars).trimEnd()}…`;
    const doc = description ? `  /** ${description} */\n` : "";
    return {
      name: tool.name,
      member: `${doc}  ${memberKey(tool.name)}(input: ${input}): Promise<${output}>;`,
      types: `type ${input} = ${schemaToType(tool.inputSchema)};\ntype ${output} = ${tool.outputSchema === undefined ? "string" : schemaToType(tool.outputSchema)};`,
      compact: `type ${input} = ${schemaToType(tool.inputSchema, 0, false)};\ntype ${output} = ${tool.outputSchema === undefined ? "string" : schemaToType(tool.outputSchema, 0, false)};`,
      placeholder: `type ${input} = Record<string, unknown>;\ntype ${output} = unknown;`,
    };
  });
}

function assemble(rendered: readonly RenderedTool[], detail: ReadonlyMap<string, TypeDetail> | undefined): string {
  const types = rendered.map((tool) => {
    const level = detail ? (detail.get(tool.name) ?? "placeholder") : "full";
    return level === "full" ? tool.types : level === "compact" ? tool.compact : tool.placeholder;
  });
  return `${types.join("\n")}\n\ndeclare const codemode: {\n${rendered.map((tool) => tool.member).join("\n")}\n};`;
}

/** Declarations for a set of tools, ending in the `codemode` object the sandbox exposes. */
export function declarationsFor(tools: readonly DeclaredTool[], options: DeclarationOptions = {}): string {
  return assemble(renderTools(tools, options), options.detail);
}

/**
 * Declarations that fit in `maxChars` and still name every tool. What gives way, in order:
 * long descriptions (cut to 160, then 60 characters, then left out), and with them the
 * input/output schemas of the tools further down the ranking (a placeholder type instead).
 * The `codemode` block with each callable name is the last thing to go, and only when the
 * names alone do not fit (then the text is cut with a marker).
 */
export function fittedDeclarations(tools: readonly DeclaredTool[], maxChars: number): { text: string; schemasLeftOut: number; complete: boolean } {
  const full = declarationsFor(tools);
  if (full.length <= maxChars) return { text: full, schemasLeftOut: 0, complete: true };
  // Descriptions are cut harder at each step; at each, schemas are added back in ranking order
  // while they fit: first every tool's compact form, then the full form (with property docs).
  for (const maxDocChars of [160, 60, 0]) {
    const rendered = renderTools(tools, { maxDocChars });
    const detail = new Map<string, TypeDetail>();
    let length = assemble(rendered, detail).length;
    if (length > maxChars) continue;
    for (const [from, to] of [
      ["placeholder", "compact"],
      ["compact", "full"],
    ] as const) {
      for (const tool of rendered) {
        if ((detail.get(tool.name) ?? "placeholder") !== from) continue;
        const size = (level: TypeDetail): number => (level === "full" ? tool.types : level === "compact" ? tool.compact : tool.placeholder).length;
        const grown = length - size(from) + size(to);
        if (grown > maxChars) continue;
        detail.set(tool.name, to);
        length = grown;
      }
    }
    const leftOut = tools.filter((tool) => (detail.get(tool.name) ?? "placeholder") === "placeholder").length;
    return { text: assemble(rendered, detail), schemasLeftOut: leftOut, complete: true };
  }
  const bare = `declare const codemode: {\n${tools.map((tool) => `  ${memberKey(tool.name)}(input: Record<string, unknown>): Promise<unknown>;`).join("\n")}\n};`;
  return { text: bare, schemasLeftOut: tools.length, complete: bare.length <= maxChars };
}

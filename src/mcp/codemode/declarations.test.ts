import { describe, expect, it } from "vitest";
import { callExpression, declarationsFor, fittedDeclarations, schemaToType, typeName } from "./declarations.ts";

describe("JSON Schema → TypeScript declarations", () => {
  it("maps primitives, enums, consts, arrays, unions and nullable types", () => {
    expect(schemaToType({ type: "string" })).toBe("string");
    expect(schemaToType({ type: "integer" })).toBe("number");
    expect(schemaToType({ enum: ["open", "done"] })).toBe('"open" | "done"');
    expect(schemaToType({ const: 3 })).toBe("3");
    expect(schemaToType({ type: "array", items: { type: "string" } })).toBe("string[]");
    expect(schemaToType({ type: "array", items: { anyOf: [{ type: "string" }, { type: "number" }] } })).toBe("(string | number)[]");
    expect(schemaToType({ type: ["string", "null"] })).toBe("string | null");
    expect(schemaToType({ $ref: "#/$defs/x" })).toBe("unknown");
    expect(schemaToType(true)).toBe("unknown");
  });

  it("maps objects with required and optional properties, docs, quoted keys and index signatures", () => {
    const type = schemaToType({
      type: "object",
      properties: { title: { type: "string", description: "Ticket title" }, "x-y": { type: "number", default: 2 } },
      required: ["title"],
      additionalProperties: { type: "boolean" },
    });
    expect(type).toBe('{\n  /** Ticket title */\n  title: string;\n  /** @default 2 */\n  "x-y"?: number;\n  [key: string]: boolean;\n}');
    expect(schemaToType({ type: "object", properties: {}, additionalProperties: false })).toBe("Record<string, never>");
  });

  it("neutralises comment terminators in descriptions", () => {
    const out = declarationsFor([{ name: "a_b", description: "evil */ declare const x: 1; /*", inputSchema: { type: "object", properties: {} }, outputSchema: undefined }]);
    expect(out).not.toContain("evil */");
    expect(out).toContain("evil *\\/");
  });

  it("names types from tool names and declares the codemode object", () => {
    expect(typeName("tickets_create_ticket", "Input")).toBe("TicketsCreateTicketInput");
    expect(typeName("3d_render", "Output")).toBe("T3dRenderOutput");
    const out = declarationsFor([{ name: "tickets_echo", description: "Echo.", inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] }, outputSchema: undefined }]);
    expect(out).toContain("type TicketsEchoInput = {\n  text: string;\n};");
    expect(out).toContain("type TicketsEchoOutput = string;");
    expect(out).toContain("declare const codemode: {\n  /** Echo. */\n  tickets_echo(input: TicketsEchoInput): Promise<TicketsEchoOutput>;\n};");
  });

  it("declares names that are not JavaScript identifiers as quoted members, with distinct type names", () => {
    const tool = (name: string) => ({ name, description: undefined, inputSchema: { type: "object", properties: {} }, outputSchema: undefined });
    const out = declarationsFor([tool("everything_get-sum"), tool("everything_get_sum"), tool("everything_echo")]);
    expect(out).toContain('  "everything_get-sum"(input: EverythingGetSumInput): Promise<EverythingGetSumOutput>;');
    expect(out).toContain("  everything_get_sum(input: EverythingGetSum2Input): Promise<EverythingGetSum2Output>;");
    expect(out).toContain("  everything_echo(input: EverythingEchoInput)");
    expect(callExpression("everything_get-sum")).toBe('codemode["everything_get-sum"]');
    expect(callExpression("everything_echo")).toBe("codemode.everything_echo");
  });

  it("fits large output by cutting descriptions and schemas, never names", () => {
    const tools = Array.from({ length: 60 }, (_, i) => ({
      name: `srv_tool-${i}`,
      description: "word ".repeat(200),
      inputSchema: { type: "object", properties: Object.fromEntries(Array.from({ length: 20 }, (_, p) => [`p${p}`, { type: "string", description: "d".repeat(100) }])) },
      outputSchema: undefined,
    }));
    const full = declarationsFor(tools);
    expect(full.length).toBeGreaterThan(20_000);
    const fitted = fittedDeclarations(tools, 20_000);
    expect(fitted.complete).toBe(true);
    expect(fitted.text.length).toBeLessThanOrEqual(20_000);
    for (const tool of tools) expect(fitted.text).toContain(`"${tool.name}"(input: `);
    expect(fitted.text).toContain("word word…");
    // Too small even for the names with placeholders: bare members, and the caller is told it is incomplete.
    const bare = fittedDeclarations(tools, 5_000);
    expect(bare.complete).toBe(true);
    expect(bare.text).toContain('  "srv_tool-0"(input: Record<string, unknown>): Promise<unknown>;');
    expect(fittedDeclarations(tools, 500).complete).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { declarationsFor, schemaToType, typeName } from "./declarations.ts";

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
});

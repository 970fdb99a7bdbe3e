import { z } from "zod";
import { orgConfigSchema } from "./schema.ts";

/** JSON Schema of gatehouse.yaml and of the compiled config, generated from the zod schema (one source of truth). */
export function orgConfigJsonSchema(): Record<string, unknown> {
  return { $id: "https://gatehouse.dev/config.schema.json", ...z.toJSONSchema(orgConfigSchema, { io: "input", unrepresentable: "any" }) };
}

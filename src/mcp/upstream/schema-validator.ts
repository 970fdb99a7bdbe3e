import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import type { JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation";

/**
 * One JSON Schema validator for every upstream client, caching compiled validators by the
 * schema's text. The SDK client compiles a validator for every tool's output schema each
 * time it lists tools, in a fresh Ajv per client: with per-user upstream sessions that is
 * the same schemas compiled again for every user, synchronously on the event loop (50 users
 * stalled every request for seconds in the soak test). Validation itself stays on: a result
 * whose structuredContent does not match its schema is still refused.
 */
export class SharedSchemaValidator implements jsonSchemaValidator {
  private readonly ajv = new AjvJsonSchemaValidator();
  private readonly compiled = new Map<string, JsonSchemaValidator<unknown>>();

  constructor(private readonly maxEntries = 2_000) {}

  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    const key = JSON.stringify(schema);
    let validator = this.compiled.get(key);
    if (!validator) {
      // A bounded cache: an upstream announcing ever new schemas cannot grow it without end.
      if (this.compiled.size >= this.maxEntries) this.compiled.clear();
      validator = this.ajv.getValidator<unknown>(schema);
      this.compiled.set(key, validator);
    }
    return validator as JsonSchemaValidator<T>;
  }
}

export const sharedSchemaValidator = new SharedSchemaValidator();

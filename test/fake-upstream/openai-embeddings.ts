import { openAiHeaders } from "./openai-common.ts";
import { stringField, type RequestContext } from "./route.ts";
import { openAiEmbeddingsUsage, resolveUsage } from "./usage.ts";

/** Deterministic unit-ish vector so equal inputs embed equally; values carry no meaning. */
function vector(seed: number, dimensions: number): number[] {
  const values: number[] = [];
  let state = (seed * 2654435761) >>> 0;
  for (let i = 0; i < dimensions; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    values.push(Math.fround((state / 0xffffffff - 0.5) / 16));
  }
  return values;
}

const hash = (text: string): number => {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
};

const base64Floats = (values: number[]): string => Buffer.from(new Float32Array(values).buffer).toString("base64");

/** POST /v1/embeddings: one embedding per input (string, string[], token array or arrays of them). */
export async function openAiEmbeddings(ctx: RequestContext): Promise<void> {
  const requested = stringField(ctx.body, "model");
  if (requested === undefined) return ctx.reject("you must provide a model parameter");
  const input = ctx.body["input"];
  if (input === undefined) return ctx.reject("Missing required parameter: 'input'.");
  const inputs: unknown[] = typeof input === "string" || (Array.isArray(input) && typeof input[0] === "number") ? [input] : Array.isArray(input) ? input : [];
  if (inputs.length === 0) return ctx.reject("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.");
  const requestedDimensions = ctx.body["dimensions"];
  const dimensions = typeof requestedDimensions === "number" && requestedDimensions > 0 ? requestedDimensions : requested.includes("3-large") ? 3072 : 1536;
  const asBase64 = ctx.body["encoding_format"] === "base64";
  const usage = resolveUsage(ctx.behaviour.usage);
  await ctx.responder.json(
    200,
    {
      object: "list",
      data: inputs.map((item, index) => {
        const values = vector(hash(JSON.stringify(item)), dimensions);
        return { object: "embedding", index, embedding: asBase64 ? base64Floats(values) : values };
      }),
      model: ctx.behaviour.model ?? requested,
      usage: openAiEmbeddingsUsage(usage),
    },
    openAiHeaders(),
  );
}

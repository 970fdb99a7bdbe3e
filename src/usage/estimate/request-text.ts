import { asRecord, type JsonRecord } from "../json-fields.ts";
import type { WireFormat } from "../types.ts";

/** What of a request body the model reads as prompt: its text, and the parts priced apart. */
export interface PromptParts {
  /** Message text, system prompt and tool definitions, joined. */
  text: string;
  /** Messages (turns) in the prompt: each costs a few framing tokens. */
  messages: number;
  /** Images, audio and files sent inline or by reference: counted at a fixed figure each. */
  media: number;
  /** Tool definitions were sent (providers add a system preamble for them). */
  tools: boolean;
}

/** String values under these keys are settings or ids, not prompt text. */
const NOT_PROMPT = new Set([
  "model",
  "role",
  "type",
  "user",
  "metadata",
  "service_tier",
  "cache_control",
  "tool_choice",
  "stream_options",
  "safety_identifier",
  "prompt_cache_key",
  "previous_response_id",
  "reasoning_effort",
  "response_format",
  "mime_type",
  "mimeType",
  "media_type",
  "detail",
  "format",
  "encoding_format",
  "signature",
  "file_id",
  "fileUri",
  "file_uri",
  "generationConfig",
  "safetySettings",
  "store",
  "truncation",
  "include",
  "modalities",
  "voice",
  "encrypted_content",
  "context_management",
  "thoughtSignature",
  "thought_signature",
]);
/**
 * Content blocks the provider drops before counting: earlier turns' thinking (Anthropic strips
 * it; OpenAI's reasoning items are opaque, encrypted, and not re-billed as prompt text).
 */
const NOT_BILLED_BLOCKS = new Set(["thinking", "redacted_thinking", "reasoning"]);
/** Objects under these keys are media: their bytes are not text, the model sees a fixed-size encoding. */
const MEDIA = new Set(["image_url", "input_image", "image", "inlineData", "inline_data", "fileData", "file_data", "input_audio", "document", "file"]);
/** Tool definitions are counted as the JSON the provider renders them to. */
const TOOLS = new Set(["tools", "functions"]);

/**
 * The prompt parts of a request body in any wire format. One walk over the JSON: every
 * string is text unless it sits under a settings key; media objects count once each
 * (Anthropic's `{type:"image",source:{type:"base64",data}}` is recognised by its type);
 * `tools` is counted as its JSON text.
 */
export function promptParts(format: WireFormat, body: JsonRecord | undefined): PromptParts {
  const parts: PromptParts = { text: "", messages: 0, media: 0, tools: false };
  if (!body) return parts;
  const texts: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (NOT_PROMPT.has(key)) continue;
    if (TOOLS.has(key) && Array.isArray(value) && value.length > 0) {
      parts.tools = true;
      texts.push(JSON.stringify(value));
      continue;
    }
    walk(value, texts, parts);
  }
  parts.text = texts.join("\n");
  parts.messages = messageCount(format, body);
  return parts;
}

function walk(value: unknown, texts: string[], parts: PromptParts): void {
  if (typeof value === "string") {
    texts.push(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const element of value) walk(element, texts, parts);
    return;
  }
  const record = asRecord(value);
  if (!record) return;
  const type = record["type"];
  if (typeof type === "string" && NOT_BILLED_BLOCKS.has(type)) return;
  if (type === "image" || type === "document" || type === "input_image" || type === "input_file" || type === "input_audio") {
    parts.media++;
    return;
  }
  for (const [key, child] of Object.entries(record)) {
    if (NOT_PROMPT.has(key)) continue;
    if (MEDIA.has(key) && child !== null && typeof child === "object") {
      parts.media++;
      continue;
    }
    // A data: URL is an inline file, whatever key carries it.
    if (typeof child === "string" && child.startsWith("data:")) {
      parts.media++;
      continue;
    }
    walk(child, texts, parts);
  }
}

function messageCount(format: WireFormat, body: JsonRecord): number {
  const list = format === "gemini" ? body["contents"] : format === "openai-responses" ? body["input"] : body["messages"];
  const system = body["system"] !== undefined || body["systemInstruction"] !== undefined || body["instructions"] !== undefined ? 1 : 0;
  if (Array.isArray(list)) return list.length + system;
  return (list === undefined ? 0 : 1) + system;
}

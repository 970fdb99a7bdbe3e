// Test support: a scripted model provider behind Gatehouse's routes, answering in each
// provider's exact wire format (Anthropic Messages; OpenAI Chat Completions) and
// rejecting malformed requests the way the real APIs do.
import { Hono } from "hono";
import type { Context } from "hono";
import { isRecord, str } from "../../src/review/model/json.ts";

export type ScriptTurn =
  | { toolCalls: Array<{ name: string; input: Record<string, unknown> }>; text?: string; delayMs?: number }
  | { text: string; delayMs?: number }
  | { findings: unknown[]; delayMs?: number }
  | { error: { status: number; type: string; message: string }; delayMs?: number };

export interface ScriptEntry {
  /** Reviewer name from the system prompt's first line `Reviewer: <name>`. */
  reviewer: string;
  /** Only for this model id (the part after `<provider>/`). */
  model?: string;
  /** Only when the first user message contains this text. */
  when?: string;
  /** Answer number n = the turn with n assistant messages already in the conversation. */
  turns: ScriptTurn[];
}

export interface RecordedCall {
  route: "anthropic" | "openai" | "compat";
  reviewer: string;
  model: string;
  turn: number;
  body: Record<string, unknown>;
  status: number;
}

export interface FakeModelOptions {
  token: string;
  script: ScriptEntry[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let counter = 0;
const nextId = (prefix: string) => `${prefix}${(++counter).toString(36).padStart(24, "0")}`;
const estimate = (value: unknown) => Math.ceil(JSON.stringify(value).length / 4);

function reviewerOf(system: string): string {
  return /^Reviewer: ([\w-]+)/.exec(system)?.[1] ?? "unknown";
}

function turnText(turn: ScriptTurn): string {
  if ("findings" in turn) return JSON.stringify({ findings: turn.findings });
  if ("text" in turn && turn.text !== undefined) return turn.text;
  return "";
}

export class FakeModelServer {
  readonly calls: RecordedCall[] = [];
  readonly app = new Hono();

  constructor(private readonly options: FakeModelOptions) {
    this.app.post("/anthropic/v1/messages", (c) => this.anthropic(c));
    // The gateway serves Chat Completions with and without the version segment; the reviewer sends it.
    for (const version of ["/v1", ""]) {
      this.app.post(`/openai${version}/chat/completions`, (c) => this.openai(c, "openai"));
      this.app.post(`/compat${version}/chat/completions`, (c) => this.openai(c, "compat"));
    }
  }

  private pick(reviewer: string, model: string, firstUser: string, turn: number): ScriptTurn {
    const entry =
      this.options.script.find((e) => e.reviewer === reviewer && e.model === model && (e.when === undefined || firstUser.includes(e.when)) && e.turns[turn] !== undefined) ??
      this.options.script.find((e) => e.reviewer === reviewer && e.model === undefined && (e.when === undefined || firstUser.includes(e.when)));
    // An unscripted reviewer finds nothing, as a careful model usually does.
    return entry?.turns[turn] ?? { findings: [] };
  }

  private async anthropic(c: Context): Promise<Response> {
    const token = c.req.header("x-api-key") ?? c.req.header("cf-access-token");
    if (token !== this.options.token) return c.json({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" }, request_id: nextId("req_") }, 401);
    const invalid = (message: string) => c.json({ type: "error", error: { type: "invalid_request_error", message }, request_id: nextId("req_") }, 400);
    if (!c.req.header("anthropic-version")) return invalid("anthropic-version: header is required");
    const body: unknown = await c.req.json();
    if (!isRecord(body)) return invalid("body must be a JSON object");
    const problem = validateAnthropic(body);
    if (problem) return invalid(problem);
    const messages = body["messages"] as Array<Record<string, unknown>>;
    const system = str(body["system"]) ?? "";
    const reviewer = reviewerOf(system);
    const model = str(body["model"]) ?? "";
    const turn = messages.filter((m) => m["role"] === "assistant").length;
    const first = messages[0]?.["content"];
    const firstUser = Array.isArray(first) ? first.map((b) => (isRecord(b) ? (str(b["text"]) ?? "") : "")).join("") : String(first ?? "");
    const scripted = this.pick(reviewer, model, firstUser, turn);
    if (scripted.delayMs) await sleep(scripted.delayMs);
    if ("error" in scripted) {
      this.calls.push({ route: "anthropic", reviewer, model, turn, body, status: scripted.error.status });
      return c.json({ type: "error", error: { type: scripted.error.type, message: scripted.error.message }, request_id: nextId("req_") }, scripted.error.status as 500);
    }
    this.calls.push({ route: "anthropic", reviewer, model, turn, body, status: 200 });
    const content: Array<Record<string, unknown>> = [];
    const text = turnText(scripted);
    if (text !== "") content.push({ type: "text", text });
    const toolCalls = "toolCalls" in scripted ? scripted.toolCalls : [];
    for (const call of toolCalls) content.push({ type: "tool_use", id: nextId("toolu_"), name: call.name, input: call.input });
    return c.json({
      id: nextId("msg_"),
      type: "message",
      role: "assistant",
      model,
      content,
      stop_reason: toolCalls.length > 0 ? "tool_use" : "end_turn",
      stop_sequence: null,
      usage: { input_tokens: estimate(body), cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: estimate(content), service_tier: "standard" },
    });
  }

  private async openai(c: Context, route: "openai" | "compat"): Promise<Response> {
    const auth = c.req.header("authorization") ?? "";
    const error = (status: number, type: string, message: string, code: string | null = null) => c.json({ error: { message, type, param: null, code } }, status as 400);
    if (auth !== `Bearer ${this.options.token}`) return error(401, "invalid_request_error", "Incorrect API key provided.", "invalid_api_key");
    const body: unknown = await c.req.json();
    if (!isRecord(body)) return error(400, "invalid_request_error", "We could not parse the JSON body of your request.");
    const problem = validateOpenAI(body);
    if (problem) return error(400, "invalid_request_error", problem);
    const messages = body["messages"] as Array<Record<string, unknown>>;
    const system = str(messages[0]?.["content"]) ?? "";
    const reviewer = reviewerOf(system);
    const model = str(body["model"]) ?? "";
    const turn = messages.filter((m) => m["role"] === "assistant").length;
    const firstUser = str(messages.find((m) => m["role"] === "user")?.["content"]) ?? "";
    const scripted = this.pick(reviewer, model, firstUser, turn);
    if (scripted.delayMs) await sleep(scripted.delayMs);
    if ("error" in scripted) {
      this.calls.push({ route, reviewer, model, turn, body, status: scripted.error.status });
      return error(scripted.error.status, scripted.error.type, scripted.error.message);
    }
    this.calls.push({ route, reviewer, model, turn, body, status: 200 });
    const toolCalls = "toolCalls" in scripted ? scripted.toolCalls : [];
    const text = turnText(scripted);
    const message: Record<string, unknown> = { role: "assistant", content: text === "" ? null : text, refusal: null, annotations: [] };
    if (toolCalls.length > 0) message["tool_calls"] = toolCalls.map((call) => ({ id: nextId("call_"), type: "function", function: { name: call.name, arguments: JSON.stringify(call.input) } }));
    const prompt = estimate(body);
    const completion = estimate(message);
    return c.json({
      id: nextId("chatcmpl-"),
      object: "chat.completion",
      created: 1767225600,
      model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: toolCalls.length > 0 ? "tool_calls" : "stop" }],
      usage: {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
      service_tier: "default",
      system_fingerprint: "fp_fake",
    });
  }
}

/** The checks the real Messages API makes that a client is most likely to get wrong. */
function validateAnthropic(body: Record<string, unknown>): string | undefined {
  if (typeof body["model"] !== "string") return "model: Field required";
  if (typeof body["max_tokens"] !== "number") return "max_tokens: Field required";
  const messages = body["messages"];
  if (!Array.isArray(messages) || messages.length === 0) return "messages: at least one message is required";
  const hasTools = Array.isArray(body["tools"]) && body["tools"].length > 0;
  if (hasTools) {
    for (const tool of body["tools"] as unknown[]) {
      if (!isRecord(tool) || typeof tool["name"] !== "string" || !isRecord(tool["input_schema"]) || tool["input_schema"]["type"] !== "object") return "tools: each tool needs a name and an input_schema of type object";
    }
  }
  let previousToolUses = new Set<string>();
  for (let i = 0; i < messages.length; i += 1) {
    const message: unknown = messages[i];
    if (!isRecord(message)) return `messages.${i}: must be an object`;
    const expected = i % 2 === 0 ? "user" : "assistant";
    if (message["role"] !== expected) return `messages: roles must alternate between "user" and "assistant", starting with "user" (messages.${i})`;
    const content = message["content"];
    if (!Array.isArray(content) || content.length === 0) return `messages.${i}.content: must be a non-empty list of content blocks`;
    const toolUses = new Set<string>();
    for (const block of content) {
      if (!isRecord(block)) return `messages.${i}.content: blocks must be objects`;
      if (block["type"] === "tool_use") {
        if (!hasTools) return "Requests which include `tool_use` or `tool_result` blocks must define tools.";
        toolUses.add(String(block["id"]));
      }
      if (block["type"] === "tool_result" && !previousToolUses.has(String(block["tool_use_id"]))) {
        return `messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(block["tool_use_id"])}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
      }
    }
    if (message["role"] === "user" && previousToolUses.size > 0) {
      const answered = new Set(content.filter((b) => isRecord(b) && b["type"] === "tool_result").map((b) => String((b as Record<string, unknown>)["tool_use_id"])));
      for (const id of previousToolUses) if (!answered.has(id)) return `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${id}`;
    }
    previousToolUses = toolUses;
  }
  return undefined;
}

function validateOpenAI(body: Record<string, unknown>): string | undefined {
  if (typeof body["model"] !== "string") return "you must provide a model parameter";
  const messages = body["messages"];
  if (!Array.isArray(messages) || messages.length === 0) return "[] is too short - 'messages'";
  let pending = new Set<string>();
  for (let i = 0; i < messages.length; i += 1) {
    const message: unknown = messages[i];
    if (!isRecord(message)) return `messages[${i}]: must be an object`;
    if (message["role"] === "tool") {
      const id = String(message["tool_call_id"]);
      if (!pending.has(id)) return `Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.`;
      pending.delete(id);
      continue;
    }
    if (pending.size > 0) return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending].join(", ")}`;
    if (message["role"] === "assistant" && message["content"] === null && !Array.isArray(message["tool_calls"])) return `Invalid value for 'content': expected a string, got null.`;
    if (message["role"] === "assistant" && Array.isArray(message["tool_calls"])) {
      pending = new Set(message["tool_calls"].map((t) => (isRecord(t) ? String(t["id"]) : "")));
    }
  }
  return undefined;
}

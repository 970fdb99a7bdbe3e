import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { anthropicHeaders, googleHeaders, json, openAiHeaders, parseSse, post, useFakeUpstream } from "./test-helpers.ts";

const fake = useFakeUpstream();
const toolCall = { name: "read_file", arguments: { path: "/tmp/notes.txt" } };

describe("toolCall: a model that calls one offered tool once, then answers", () => {
  it("Anthropic: a tool_use block whose input streams as input_json_delta, stop_reason tool_use; the request with the tool_result gets text", async () => {
    fake().setDefault({ toolCall, text: "done reading", chunks: 3 });
    const request = { model: "claude-sonnet-4-5", max_tokens: 64, stream: true, tools: [{ name: "read_file", input_schema: { type: "object" } }], messages: [{ role: "user", content: "read it" }] };
    const events = parseSse(await (await post(fake(), "/v1/messages", request, anthropicHeaders(fake()))).text()).map((e) => JSON.parse(e.data) as Record<string, unknown>);
    const start = events.find((e) => e["type"] === "content_block_start") as { content_block: { type: string; name: string; id: string; input: unknown } };
    expect(start.content_block).toMatchObject({ type: "tool_use", name: "read_file", input: {} });
    expect(start.content_block.id).toMatch(/^toolu_01/);
    const partial = events.filter((e) => e["type"] === "content_block_delta").map((e) => (e["delta"] as { type: string; partial_json: string }).partial_json);
    expect(partial.length).toBe(3);
    expect(JSON.parse(partial.join(""))).toEqual(toolCall.arguments);
    expect(events.find((e) => e["type"] === "message_delta")).toMatchObject({ delta: { stop_reason: "tool_use" } });

    const followUp = {
      ...request,
      stream: false,
      messages: [
        ...request.messages,
        { role: "assistant", content: [{ type: "tool_use", id: start.content_block.id, name: "read_file", input: toolCall.arguments }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: start.content_block.id, content: "hello" }] },
      ],
    };
    const answer = json(await (await post(fake(), "/v1/messages", followUp, anthropicHeaders(fake()))).text()) as { content: unknown[]; stop_reason: string };
    expect(answer).toMatchObject({ content: [{ type: "text", text: "done reading" }], stop_reason: "end_turn" });
  });

  it("a request that does not offer the named tool (a side request, another tool set) gets text", async () => {
    fake().setDefault({ toolCall, text: "plain" });
    const request = { model: "claude-haiku-4-5", max_tokens: 64, tools: [{ name: "other_tool", input_schema: { type: "object" } }], messages: [{ role: "user", content: "title this" }] };
    const answer = json(await (await post(fake(), "/v1/messages", request, anthropicHeaders(fake()))).text());
    expect(answer).toMatchObject({ content: [{ type: "text", text: "plain" }] });
  });

  it("OpenAI Responses SSE: a function_call item, arguments deltas that spell the JSON, the completed response carries the call", async () => {
    fake().setDefault({ toolCall, text: "after", chunks: 2 });
    const request = { model: "gpt-5", stream: true, tools: [{ type: "function", name: "read_file", parameters: { type: "object" } }], input: [{ role: "user", content: "read it" }] };
    const events = parseSse(await (await post(fake(), "/v1/responses", request, openAiHeaders(fake()))).text()).map((e) => JSON.parse(e.data) as Record<string, unknown>);
    expect(events.map((e) => e["type"])).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((e) => e["sequence_number"])).toEqual(events.map((_, i) => i));
    const done = events.find((e) => e["type"] === "response.output_item.done") as { item: { type: string; name: string; arguments: string; call_id: string } };
    expect(done.item).toMatchObject({ type: "function_call", name: "read_file", status: "completed" });
    expect(JSON.parse(done.item.arguments)).toEqual(toolCall.arguments);
    const completed = events.at(-1) as { response: { output: unknown[] } };
    expect(completed.response.output).toEqual([done.item]);

    const followUp = { ...request, input: [...request.input, done.item, { type: "function_call_output", call_id: done.item.call_id, output: "hello" }] };
    const texts = parseSse(await (await post(fake(), "/v1/responses", followUp, openAiHeaders(fake()))).text()).map((e) => JSON.parse(e.data) as { type: string; delta?: string });
    expect(
      texts
        .filter((e) => e.type === "response.output_text.delta")
        .map((e) => e.delta)
        .join(""),
    ).toBe("after");
  });

  it("OpenAI Responses WebSocket: the same function_call events for a response.create that offers the tool", async () => {
    fake().setDefault({ toolCall, text: "after" });
    const ws = new WebSocket(`${fake().url.replace("http", "ws")}/v1/responses`, { headers: openAiHeaders(fake()) });
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const events: Array<{ type: string; item?: { type: string; name: string } }> = [];
    const completed = new Promise<void>((resolve) =>
      ws.on("message", (data: Buffer) => {
        const event = JSON.parse(data.toString()) as { type: string };
        events.push(event);
        if (event.type === "response.completed") resolve();
      }),
    );
    ws.send(JSON.stringify({ type: "response.create", model: "gpt-5", tools: [{ type: "function", name: "read_file" }], input: [{ role: "user", content: "read it" }] }));
    await completed;
    ws.close();
    expect(events.find((e) => e.type === "response.output_item.done")?.item).toMatchObject({ type: "function_call", name: "read_file" });
    expect(events.some((e) => e.type === "response.function_call_arguments.done")).toBe(true);
  });

  it("Gemini: one chunk with the whole functionCall and STOP; the request with the functionResponse gets text", async () => {
    fake().setDefault({ toolCall, text: "after" });
    const request = { contents: [{ role: "user", parts: [{ text: "read it" }] }], tools: [{ functionDeclarations: [{ name: "read_file" }] }] };
    const chunks = parseSse(await (await post(fake(), "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", request, googleHeaders(fake()))).text()).map(
      (e) => JSON.parse(e.data) as { candidates: Array<{ content: { parts: unknown[] }; finishReason?: string }> },
    );
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.candidates[0]).toMatchObject({ content: { parts: [{ functionCall: { name: "read_file", args: toolCall.arguments } }] }, finishReason: "STOP" });
    const followUp = {
      ...request,
      contents: [...request.contents, { role: "model", parts: [{ functionCall: { name: "read_file", args: toolCall.arguments } }] }, { role: "user", parts: [{ functionResponse: { name: "read_file", response: { output: "hello" } } }] }],
    };
    const answer = json(await (await post(fake(), "/v1beta/models/gemini-2.5-flash:generateContent", followUp, googleHeaders(fake()))).text());
    expect(answer).toMatchObject({ candidates: [{ content: { parts: [{ text: "after" }] } }] });
  });
});

import { describe, expect, it } from "vitest";
import { orgConfigSchema } from "../config/index.ts";
import { classify, providerById } from "../providers/index.ts";
import type { ObjectOwnership } from "./object-ownership.ts";
import { keepStateless, planObjectAccess } from "./objects.ts";
import type { ResponseTap } from "./transport.ts";

const openai = providerById("openai");
const config = orgConfigSchema.parse({ providers: { openai: { objects: { allow: ["files"], adminGroups: ["platform"] } } } }).providers.openai;
if (!config) throw new Error("config");
const alice = { id: "alice", email: undefined, groups: ["eng"], team: "eng", tokenId: undefined };

function ownership(owned: Record<string, string>): ObjectOwnership {
  return {
    ownerOf: (_p, _k, id) => Promise.resolve(owned[id]),
    ownedBy: (_p, _k, owner) => Promise.resolve(new Set(Object.keys(owned).filter((id) => owned[id] === owner))),
    record: (_p, _k, id, owner) => {
      owned[id] = owner;
    },
    forget: (_p, _k, id) => {
      delete owned[id];
    },
  };
}

const encode = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("object lists", () => {
  const list = classify(openai, "GET", "/v1/files", [], undefined);

  it("let out only the caller's objects, split across chunks", async () => {
    const plan = await planObjectAccess(openai, config, list, undefined, alice, ownership({ "file-a": "alice", "file-b": "bob" }));
    const transform = plan?.transform;
    if (!transform) throw new Error("no filter");
    const body = JSON.stringify({ object: "list", data: [{ id: "file-b" }, { id: "file-a" }, { nope: 1 }], has_more: true, first_id: "file-b", last_id: "file-a" });
    expect(transform.transform(encode(body.slice(0, 20))).byteLength).toBe(0);
    transform.transform(encode(body.slice(20)));
    expect(JSON.parse(decode(transform.flush()))).toEqual({ object: "list", data: [{ id: "file-a" }], has_more: true, first_id: "file-a", last_id: "file-a" });
  });

  it.each(["not json", "[1,2]", JSON.stringify({ data: "x" })])("turn an unreadable answer (%s) into an empty list, never the unfiltered one", async (text) => {
    const plan = await planObjectAccess(openai, config, list, undefined, alice, ownership({ "file-a": "alice" }));
    plan?.transform?.transform(encode(text));
    const out = JSON.parse(decode(plan?.transform?.flush() ?? new Uint8Array())) as { data: unknown[] };
    expect(out.data).toEqual([]);
  });

  it("are unfiltered for an admin group", async () => {
    const plan = await planObjectAccess(openai, config, list, undefined, { ...alice, groups: ["platform"] }, ownership({}));
    expect(plan?.transform).toBeUndefined();
  });
});

describe("object creation", () => {
  it("records the owner from a 2xx answer only", async () => {
    const owned: Record<string, string> = {};
    const shape = classify(openai, "POST", "/v1/files", [], undefined);
    for (const [status, id] of [
      [200, "file-new"],
      [400, "file-refused"],
    ] as const) {
      const plan = await planObjectAccess(openai, config, shape, undefined, alice, ownership(owned));
      const ends: string[] = [];
      const tap: ResponseTap = { onResponse: () => undefined, onChunk: () => undefined, onEnd: (o) => ends.push(o) };
      const wrapped = plan?.wrapTap(tap);
      wrapped?.onResponse(status);
      wrapped?.onChunk(encode({ id }));
      wrapped?.onEnd("completed");
      expect(ends).toEqual(["completed"]);
    }
    expect(owned).toEqual({ "file-new": "alice" });
  });

  it("refuses kinds the org did not enable, naming the setting", async () => {
    const batches = classify(openai, "POST", "/v1/batches", [], { input_file_id: "f" });
    await expect(planObjectAccess(openai, config, batches, { input_file_id: "f" }, alice, ownership({}))).rejects.toThrow("providers.openai.objects.allow");
  });
});

describe("keepStateless", () => {
  it("sends Responses with store:false and refuses state the shared key would expose", () => {
    const body: Record<string, unknown> = { model: "gpt-5", input: "hi" };
    const shape = classify(openai, "POST", "/v1/responses", [], body);
    expect(keepStateless(shape, body)).toBe(true);
    expect(body["store"]).toBe(false);
    for (const extra of [{ store: true }, { previous_response_id: "resp_1" }, { conversation: "conv_1" }, { background: true }]) {
      const b = { model: "gpt-5", input: "hi", ...extra };
      expect(() => keepStateless(classify(openai, "POST", "/v1/responses", [], b), b)).toThrow("not accepted");
    }
    const chat = { model: "gpt-5", messages: [], store: true };
    expect(() => keepStateless(classify(openai, "POST", "/v1/chat/completions", [], chat), chat)).toThrow("not accepted");
  });
});

import type { RequestContext, Route } from "./route.ts";

/**
 * Provider-side objects as OpenAI and Anthropic keep them under one API key: files and
 * batches, created, listed (newest first, `data` + paging fields), read and deleted. Every
 * object is visible to every holder of the key, which is what the gateway must not pass on.
 */
export class FakeObjectStore {
  private readonly objects = new Map<string, Record<string, unknown>>();
  private counter = 0;

  create(prefix: string, fields: Record<string, unknown>): Record<string, unknown> {
    this.counter++;
    const id = `${prefix}${String(this.counter).padStart(6, "0")}`;
    const object = { id, created_at: 1_760_000_000 + this.counter, ...fields };
    this.objects.set(id, object);
    return object;
  }

  list(prefix: string): Array<Record<string, unknown>> {
    return [...this.objects.values()].filter((o) => String(o["id"]).startsWith(prefix)).reverse();
  }

  get(id: string): Record<string, unknown> | undefined {
    return this.objects.get(id);
  }

  delete(id: string): boolean {
    return this.objects.delete(id);
  }

  get size(): number {
    return this.objects.size;
  }
}

function page(items: Array<Record<string, unknown>>, openai: boolean): Record<string, unknown> {
  const base = { data: items, has_more: false, first_id: items[0]?.["id"] ?? null, last_id: items.at(-1)?.["id"] ?? null };
  return openai ? { object: "list", ...base } : base;
}

async function notFound(ctx: RequestContext, id: string): Promise<void> {
  await ctx.reject(`No such object: ${id}`);
}

function objectRoutes(prefixPath: string, idPrefix: string, openai: boolean, create: (ctx: RequestContext) => Record<string, unknown>, rawBody: boolean): Route[] {
  const one = new RegExp(`^${prefixPath}/([^/]+)$`);
  return [
    { method: "POST", pattern: new RegExp(`^${prefixPath}$`), rawBody, handle: (ctx) => ctx.responder.json(200, ctx.objects.create(idPrefix, create(ctx))) },
    { method: "GET", pattern: new RegExp(`^${prefixPath}$`), handle: (ctx) => ctx.responder.json(200, page(ctx.objects.list(idPrefix), openai)) },
    {
      method: "GET",
      pattern: one,
      handle: async (ctx) => {
        const object = ctx.objects.get(ctx.params[0] ?? "");
        if (!object) return notFound(ctx, ctx.params[0] ?? "");
        await ctx.responder.json(200, object);
      },
    },
    {
      method: "DELETE",
      pattern: one,
      handle: async (ctx) => {
        const id = ctx.params[0] ?? "";
        if (!ctx.objects.delete(id)) return notFound(ctx, id);
        await ctx.responder.json(200, openai ? { id, object: "file", deleted: true } : { id, type: "message_batch_deleted" });
      },
    },
  ];
}

export const openAiObjectRoutes: Route[] = [
  ...objectRoutes("/v1/files", "file-", true, (ctx) => ({ object: "file", bytes: ctx.bodyText.length, filename: "upload.jsonl", purpose: "batch" }), true),
  ...objectRoutes("/v1/batches", "batch_", true, (ctx) => ({ object: "batch", endpoint: ctx.body["endpoint"], input_file_id: ctx.body["input_file_id"], status: "validating" }), false),
];

export const anthropicObjectRoutes: Route[] = [
  ...objectRoutes("/v1/messages/batches", "msgbatch_", false, (ctx) => ({ type: "message_batch", processing_status: "in_progress", request_counts: { processing: Array.isArray(ctx.body["requests"]) ? ctx.body["requests"].length : 0 } }), false),
  ...objectRoutes("/v1/files", "file_", false, (ctx) => ({ type: "file", size_bytes: ctx.bodyText.length, filename: "upload.txt" }), true),
];

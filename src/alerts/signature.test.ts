import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signWebhook, verifyWebhookSignature } from "./signature.ts";
import { genericBody, slackBody } from "./formats.ts";

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const body = '{"id":"evt_1","type":"request.denied"}';

describe("webhook signatures", () => {
  it("is HMAC-SHA256 over `${t}.${body}`, as a receiver without this code computes it", async () => {
    const header = await signWebhook("s3cret", body, NOW);
    const t = Math.floor(NOW / 1000);
    expect(header).toBe(`t=${t},v1=${createHmac("sha256", "s3cret").update(`${t}.${body}`).digest("hex")}`);
    expect(await verifyWebhookSignature("s3cret", header, body, NOW + 1000)).toEqual({ ok: true, timestamp: t });
  });

  it("refuses a changed body, another secret, a replay outside the window, a missing or malformed header", async () => {
    const header = await signWebhook("s3cret", body, NOW);
    expect(await verifyWebhookSignature("s3cret", header, body.replace("denied", "DENIED"), NOW)).toMatchObject({ ok: false, reason: "signature does not match" });
    expect(await verifyWebhookSignature("other", header, body, NOW)).toMatchObject({ ok: false });
    expect(await verifyWebhookSignature("s3cret", header, body, NOW + 301_000)).toMatchObject({ ok: false, reason: "timestamp outside the 300s replay window" });
    expect(await verifyWebhookSignature("s3cret", header, body, NOW - 301_000)).toMatchObject({ ok: false });
    expect(await verifyWebhookSignature("s3cret", header, body, NOW + 3_000_000, 3_600)).toMatchObject({ ok: true });
    expect(await verifyWebhookSignature("s3cret", undefined, body, NOW)).toMatchObject({ ok: false, reason: "no x-gatehouse-signature header" });
    expect(await verifyWebhookSignature("s3cret", "v1=abc", body, NOW)).toMatchObject({ ok: false, reason: "no timestamp (t=)" });
    // A new timestamp with the old MAC is refused (the MAC covers t).
    const v1 = header.split("v1=")[1];
    expect(await verifyWebhookSignature("s3cret", `t=${Math.floor(NOW / 1000) + 5},v1=${v1}`, body, NOW)).toMatchObject({ ok: false });
    // Several v1 (secret rotation): one matching is enough.
    expect(await verifyWebhookSignature("s3cret", `t=${Math.floor(NOW / 1000)},v1=${"0".repeat(64)},v1=${v1}`, body, NOW)).toMatchObject({ ok: true });
  });
});

describe("webhook formats", () => {
  const event = { id: "evt_1", type: "request.denied" as const, createdAt: NOW, summary: "model <@U123|x> & <!channel>", data: { model: "<!here>", groups: ["a", "b"], none: null } };

  it("Slack: text plus blocks, with &, < and > escaped so a model name cannot mention or link", () => {
    const slack = JSON.parse(slackBody(event)) as { text: string; blocks: Array<{ type: string; fields?: Array<{ text: string }> }> };
    expect(slack.text).toBe("Request denied: model &lt;@U123|x&gt; &amp; &lt;!channel&gt;");
    expect(slack.blocks.map((b) => b.type)).toEqual(["header", "section", "section", "context"]);
    expect(JSON.stringify(slack)).not.toMatch(/<[@!]/);
    expect(slack.blocks[2]?.fields?.map((f) => f.text)).toEqual(["*model*\n&lt;!here&gt;", "*groups*\na, b"]);
  });

  it("generic: id, type, ISO time, summary and data, unescaped", () => {
    expect(JSON.parse(genericBody(event))).toEqual({ id: "evt_1", type: "request.denied", created_at: "2026-12-01T12:00:00.000Z", summary: event.summary, data: event.data });
  });
});

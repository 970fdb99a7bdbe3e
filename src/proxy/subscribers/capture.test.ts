import { describe, expect, it } from "vitest";
import { bodyCaptureSchema, DEFAULT_CAPTURE_RETENTION_HOURS, orgConfigSchema } from "../../config/index.ts";
import { captureRetentionMs, captureSettingsFor, configuredProviderKeys, DEFAULT_RETENTION_HOURS } from "./capture.ts";

describe("capture settings", () => {
  it("off unless configured; a route overrides the global switch and size", () => {
    expect(captureSettingsFor(undefined, "openai")).toBeUndefined();
    expect(orgConfigSchema.parse({}).bodyCapture).toBeUndefined();
    expect(captureSettingsFor(bodyCaptureSchema.parse({}), "openai")).toBeUndefined();
    const on = bodyCaptureSchema.parse({ enabled: true, maxBodyBytes: 4096, routes: { anthropic: { enabled: false }, openai: { maxBodyBytes: 512 } } });
    expect(captureSettingsFor(on, "openai")).toEqual({ maxBytes: 512 });
    expect(captureSettingsFor(on, "anthropic")).toBeUndefined();
    expect(captureSettingsFor(on, "groq")).toEqual({ maxBytes: 4096 });
    const oneRoute = bodyCaptureSchema.parse({ routes: { groq: { enabled: true } } });
    expect(captureSettingsFor(oneRoute, "groq")).toEqual({ maxBytes: 32 * 1024 });
    expect(captureSettingsFor(oneRoute, "openai")).toBeUndefined();
  });

  it("refuses sizes and retentions outside the bounds, with the bound in the message", () => {
    expect(() => bodyCaptureSchema.parse({ maxBodyBytes: 10 })).toThrow(/at least 256/);
    expect(() => bodyCaptureSchema.parse({ maxBodyBytes: 2 * 1024 * 1024 })).toThrow(/at most 1048576/);
    expect(() => bodyCaptureSchema.parse({ retentionHours: 0 })).toThrow();
    expect(() => bodyCaptureSchema.parse({ routes: { nope: { enabled: true } } })).toThrow();
  });

  it("the retention default is the schema's", () => {
    expect(DEFAULT_RETENTION_HOURS).toBe(DEFAULT_CAPTURE_RETENTION_HOURS);
    expect(captureRetentionMs(undefined)).toBe(DEFAULT_CAPTURE_RETENTION_HOURS * 3_600_000);
    expect(captureRetentionMs(bodyCaptureSchema.parse({ retentionHours: 2 }))).toBe(7_200_000);
  });
});

describe("the provider secrets redacted by value", () => {
  it("counts every key of a key pool, not only the route's single key", () => {
    const config = orgConfigSchema.parse({
      providers: {
        openai: {
          keys: [
            { name: "a", env: "OPENAI_KEY_A" },
            { name: "b", env: "OPENAI_KEY_B" },
            { name: "unset", env: "OPENAI_KEY_C" },
          ],
        },
      },
    });
    const secrets: Record<string, string> = { OPENAI_KEY_A: "sk-pool-a", OPENAI_KEY_B: "sk-pool-b" };
    expect([...configuredProviderKeys(config, { get: (name) => secrets[name] })].sort()).toEqual(["sk-pool-a", "sk-pool-b"]);
  });
});

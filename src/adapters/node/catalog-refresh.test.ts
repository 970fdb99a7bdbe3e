import { describe, expect, it } from "vitest";
import { createBundledCatalog } from "../../catalog/index.ts";
import type { Logger } from "../../core/logger.ts";
import { parseSettings } from "../../core/settings.ts";
import { startCatalogRefresh } from "./catalog-refresh.ts";

describe("catalog refresh", () => {
  it("an unreachable catalog is a warning that names the URL and the settings that fix it", async () => {
    // Port 9 on loopback: nothing listens, the fetch fails at once.
    const url = "http://127.0.0.1:9/api.json";
    const warned = new Promise<{ fields: Record<string, unknown>; message: string }>((resolve) => {
      const logger: Logger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (fields, message) => resolve({ fields, message }) };
      const stop = startCatalogRefresh(createBundledCatalog(), parseSettings({ GATEHOUSE_CATALOG_URL: url }), logger);
      stop();
    });
    const { fields, message } = await warned;
    expect(fields["url"]).toBe(url);
    expect(message).toContain(`catalog refresh from ${url} failed`);
    expect(message).toContain("GATEHOUSE_CATALOG_URL");
    expect(message).toContain("GATEHOUSE_CATALOG_REFRESH_MS=0");
  });
});

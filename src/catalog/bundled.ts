import snapshot from "../../data/models-dev-api.json" with { type: "json" };
import { Catalog } from "./catalog.ts";

/** A catalog over the models.dev snapshot shipped with Gatehouse (works offline, on Node and Workers). */
export function createBundledCatalog(): Catalog {
  return new Catalog(snapshot);
}

/** The raw bundled snapshot (for tests and tools that want to compare against it). */
export const bundledSnapshot: unknown = snapshot;

import type { DurableObjectState } from "./bindings.ts";
import { CountersObject } from "./counters-object.ts";

/** The Durable Object class named in wrangler.jsonc (binding COUNTERS). */
export class GatehouseCounters extends CountersObject {
  constructor(state: DurableObjectState, _env: unknown) {
    super(state);
  }
}

import type { OrgConfig } from "./schema.ts";

/**
 * Holds the current compiled config; a reload swaps it atomically so in-flight requests
 * keep the config they started with and new ones see the new one without a restart.
 */
export class ConfigHolder {
  private value: OrgConfig;
  private readonly listeners = new Set<(config: OrgConfig) => void>();

  constructor(initial: OrgConfig) {
    this.value = initial;
  }

  current(): OrgConfig {
    return this.value;
  }

  replace(next: OrgConfig): void {
    this.value = next;
    for (const listener of this.listeners) listener(next);
  }

  onChange(listener: (config: OrgConfig) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

// Types of dist-freshness.mjs for the tests that import it.
export const stampFile: string;
export function listSources(projectRoot: string): string[];
export function distIsStale(projectRoot: string): boolean;
export function buildLock(projectRoot: string): Promise<() => void>;

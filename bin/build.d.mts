// Types of build.mjs for the tests that import it (the script itself is plain JS: it runs before any build).
export function rewriteSpecifiers(code: string, sourceFile: string, projectRoot: string): string;
export function buildDist(projectRoot?: string): Promise<{ files: number }>;
export function buildIfStale(projectRoot?: string, options?: { force?: boolean }): Promise<boolean>;

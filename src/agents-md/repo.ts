/** A repository's files as detection sees them: relative POSIX paths and their text. */
export interface RepoSnapshot {
  /** Every file, relative to the repo root, generated dirs' contents left out. */
  files: readonly string[];
  /** Top-level-or-deeper directories that exist (relative paths), generated ones included. */
  dirs: readonly string[];
  read(path: string): string | undefined;
}

/** Directories tools write (never edit by hand, never read for conventions). */
export const GENERATED_DIR_NAMES = ["node_modules", "dist", "build", "target", "vendor", ".venv", "venv", "__pycache__", "out", "coverage", ".next", ".turbo", ".gradle", "generated", "gen", ".tox", ".pytest_cache", ".mypy_cache"] as const;

export function isGeneratedDir(name: string): boolean {
  return (GENERATED_DIR_NAMES as readonly string[]).includes(name);
}

/**
 * What the reviewer needs from git. The Node implementation (adapters/node/git.ts) shells
 * out to `git`; tests use it on real repositories built in a temp dir.
 */
export interface GrepMatch {
  path: string;
  line: number;
  text: string;
}

export interface GitPort {
  /** Full sha of a ref. */
  revParse(ref: string): Promise<string>;
  mergeBase(a: string, b: string): Promise<string>;
  /** Unified diff from base to head (commits), renames detected, 3 lines of context. */
  diff(base: string, head: string): Promise<string>;
  /** A file's content at a commit, or undefined when it does not exist there. */
  show(ref: string, path: string): Promise<string | undefined>;
  /** Files (not directories) at a commit, optionally under a directory. */
  listFiles(ref: string, dir?: string): Promise<string[]>;
  /** Extended-regex search at a commit. Throws on an invalid pattern. */
  grep(ref: string, pattern: string, dir?: string): Promise<GrepMatch[]>;
}

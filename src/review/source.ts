import type { GitPort, GrepMatch } from "./git.ts";

/** Read-only view of the repository at the reviewed head commit, with a small cache. */
export class HeadSource {
  private readonly files = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly git: GitPort,
    readonly headSha: string,
  ) {}

  read(path: string): Promise<string | undefined> {
    const normal = path.replace(/^\.\//, "");
    let cached = this.files.get(normal);
    if (!cached) {
      cached = this.git.show(this.headSha, normal);
      this.files.set(normal, cached);
    }
    return cached;
  }

  list(dir?: string): Promise<string[]> {
    return this.git.listFiles(this.headSha, dir);
  }

  grep(pattern: string, dir?: string): Promise<GrepMatch[]> {
    return this.git.grep(this.headSha, pattern, dir);
  }
}

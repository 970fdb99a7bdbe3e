import { lstat, readdir, readFile, realpath } from "node:fs/promises";
import { join } from "node:path";
import type { CatalogSource, SourceSnapshot } from "../../../knowledge/source.ts";
import type { DescriptorFile, FileError } from "../../../knowledge/descriptors.ts";

export interface LocalSourceOptions {
  id: string;
  /** A repository checkout, or a directory of checkouts. */
  path: string;
  /** Directory levels searched below `path`; default 4. */
  maxDepth?: number;
  /** Larger descriptor files are reported, not read; default 1 MiB. */
  maxFileBytes?: number;
}

const DESCRIPTOR_NAMES = new Set(["catalog-info.yaml", "catalog-info.yml"]);
/** Never descended into: dependencies and build output hold other projects' descriptors. */
const SKIPPED_DIRS = new Set([".git", "node_modules", "vendor", "dist", "build", "target", ".venv", "__pycache__"]);

/**
 * `catalog-info.yaml` files in local checkouts. Symlinks are not followed, so a checkout
 * cannot point the catalog at files outside it.
 */
export function localCatalogSource(options: LocalSourceOptions): CatalogSource {
  const maxDepth = options.maxDepth ?? 4;
  const maxFileBytes = options.maxFileBytes ?? 1024 * 1024;
  return {
    id: options.id,
    target: options.path,
    async read(): Promise<SourceSnapshot> {
      // Throws when the root is gone: the whole source failed, its entities stay as they were.
      const root = await realpath(options.path);
      const files: DescriptorFile[] = [];
      const errors: FileError[] = [];
      const walk = async (dir: string, depth: number): Promise<void> => {
        const entries = await readdir(dir, { withFileTypes: true });
        entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const entry of entries) {
          const path = join(dir, entry.name);
          if (entry.isDirectory() && depth < maxDepth && !SKIPPED_DIRS.has(entry.name)) await walk(path, depth + 1);
          else if (entry.isFile() && DESCRIPTOR_NAMES.has(entry.name)) {
            const location = `file:${path}`;
            try {
              const stat = await lstat(path);
              if (stat.size > maxFileBytes) errors.push({ location, message: `descriptor is ${stat.size} bytes, over the ${maxFileBytes}-byte limit` });
              else files.push({ location, text: await readFile(path, "utf8") });
            } catch (err) {
              errors.push({ location, message: err instanceof Error ? err.message : String(err) });
            }
          }
        }
      };
      await walk(root, 0);
      return { files, errors };
    },
  };
}

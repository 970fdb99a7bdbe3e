import { isAbsolute, resolve } from "node:path";
import type { SecretSource } from "../../../core/deps.ts";
import type { KnowledgeSourceConfig } from "../../../config/knowledge-schema.ts";
import type { CatalogSource } from "../../../knowledge/source.ts";
import { backstageCatalogSource } from "../../../knowledge/sources/backstage.ts";
import { githubCatalogSource } from "../../../knowledge/sources/github.ts";
import { gitlabCatalogSource } from "../../../knowledge/sources/gitlab.ts";
import type { RemoteSourceDeps } from "../../../knowledge/sources/pages.ts";
import { localCatalogSource } from "./local-source.ts";

/**
 * A configured source (org config `knowledge.sources`) as a CatalogSource, its token looked
 * up in the gateway's secrets when the source is built (each refresh builds it anew, so a
 * config reload that renames the secret takes effect). A missing token is not an error
 * here: the source's read fails with a message naming the secret.
 */
export function configuredSource(config: KnowledgeSourceConfig, secrets: SecretSource, options: { configDir?: string; deps?: RemoteSourceDeps } = {}): CatalogSource {
  const deps = options.deps ? { deps: options.deps } : {};
  switch (config.type) {
    case "local": {
      // Relative to the config directory, as the config's other paths are.
      const path = isAbsolute(config.path) ? config.path : resolve(options.configDir ?? process.cwd(), config.path);
      return localCatalogSource({ id: config.name, path, maxDepth: config.depth });
    }
    case "github":
      return githubCatalogSource({
        id: config.name,
        apiUrl: config.apiUrl,
        org: config.org,
        token: secrets.get(config.tokenSecret),
        tokenSecret: config.tokenSecret,
        path: config.path,
        includeArchived: config.includeArchived,
        includeForks: config.includeForks,
        maxFileBytes: config.maxFileBytes,
        ...deps,
      });
    case "gitlab":
      return gitlabCatalogSource({
        id: config.name,
        apiUrl: config.apiUrl,
        group: config.group,
        token: secrets.get(config.tokenSecret),
        tokenSecret: config.tokenSecret,
        path: config.path,
        includeSubgroups: config.includeSubgroups,
        includeArchived: config.includeArchived,
        maxFileBytes: config.maxFileBytes,
        ...deps,
      });
    case "backstage":
      return backstageCatalogSource({ id: config.name, url: config.url, token: config.tokenSecret ? secrets.get(config.tokenSecret) : undefined, pageSize: config.pageSize, ...(config.filter ? { filter: config.filter } : {}), ...deps });
  }
}

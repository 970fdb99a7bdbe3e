import picomatch from "picomatch";
import type { DiffFile } from "./diff.ts";
import type { ReviewConfig } from "./config.ts";

export type Tier = "trivial" | "lite" | "full";

export interface TierDecision {
  tier: Tier;
  reason: string;
  files: number;
  lines: number;
}

/** Decides the review effort from the filtered diff; security-sensitive paths always get a full review. */
export function decideTier(files: readonly DiffFile[], config: Pick<ReviewConfig, "securityPaths" | "tiers">): TierDecision {
  const lines = files.reduce((sum, f) => sum + f.additions + f.deletions, 0);
  const count = files.length;
  const base = { files: count, lines };
  const sensitive = config.securityPaths.length > 0 ? picomatch(config.securityPaths, { dot: true }) : () => false;
  const hit = files.find((f) => sensitive(f.path) || sensitive(f.oldPath));
  if (hit) return { ...base, tier: "full", reason: `security-sensitive path ${hit.path}` };
  const t = config.tiers;
  if (count > t.fullMinFiles) return { ...base, tier: "full", reason: `${count} files > ${t.fullMinFiles}` };
  if (count <= t.smallMaxFiles && lines <= t.trivialMaxLines) return { ...base, tier: "trivial", reason: `${lines} changed lines <= ${t.trivialMaxLines}` };
  if (count <= t.smallMaxFiles && lines <= t.liteMaxLines) return { ...base, tier: "lite", reason: `${lines} changed lines <= ${t.liteMaxLines}` };
  return { ...base, tier: "full", reason: count > t.smallMaxFiles ? `${count} files > ${t.smallMaxFiles}` : `${lines} changed lines > ${t.liteMaxLines}` };
}

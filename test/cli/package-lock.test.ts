import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// `npm ci` refuses a lock that does not hold every package package.json and the locked
// packages ask for (opencode-ai's optional platform packages once went missing, and every CI
// and Docker build broke). This is that check, offline; .ci/run also runs `npm ci --dry-run`.

const root = fileURLToPath(new URL("../..", import.meta.url));

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  engines?: Record<string, string>;
}
interface Lock {
  packages: Record<string, LockEntry>;
}
interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  engines?: Record<string, string>;
}

/** Where Node (and npm) would find `name` from the package installed at `at`: its own node_modules, then each parent's. */
function resolveInLock(lock: Lock, at: string, name: string): string | undefined {
  let base = at;
  for (;;) {
    const candidate = `${base ? `${base}/` : ""}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!base) return undefined;
    const cut = base.lastIndexOf("/node_modules/");
    base = cut < 0 ? "" : base.slice(0, cut);
  }
}

/** Every way the lock disagrees with package.json or leaves a locked package's dependency out. */
export function lockProblems(pkg: PackageJson, lock: Lock): string[] {
  const problems: string[] = [];
  const rootEntry = lock.packages[""] ?? {};
  for (const field of ["dependencies", "devDependencies", "optionalDependencies", "engines"] as const) {
    const want = pkg[field] ?? {};
    const have = rootEntry[field] ?? {};
    for (const name of new Set([...Object.keys(want), ...Object.keys(have)])) {
      if (want[name] !== have[name]) problems.push(`${field}.${name}: package.json has ${want[name] ?? "nothing"}, the lock has ${have[name] ?? "nothing"}`);
    }
  }
  for (const [at, entry] of Object.entries(lock.packages)) {
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      if (!resolveInLock(lock, at, name)) problems.push(`${at || "(root)"} needs ${name}, which the lock does not hold`);
    }
  }
  return problems;
}

const read = <T>(text: string): T => JSON.parse(text) as T;

describe("package-lock.json", () => {
  it("is in sync with package.json: every dependency, optional platform packages included, is locked", () => {
    const pkg = read<PackageJson>(readFileSync(`${root}package.json`, "utf8"));
    const lock = read<Lock>(readFileSync(`${root}package-lock.json`, "utf8"));
    expect(lockProblems(pkg, lock)).toEqual([]);
  });

  it("finds the drift that broke `npm ci`: a locked package's optional dependency missing", () => {
    const lock = read<Lock>(readFileSync(`${root}package-lock.json`, "utf8"));
    const drifted: Lock = { packages: { ...lock.packages } };
    delete drifted.packages["node_modules/opencode-darwin-arm64"];
    expect(lockProblems({ ...read<PackageJson>(readFileSync(`${root}package.json`, "utf8")) }, drifted)).toEqual(["node_modules/opencode-ai needs opencode-darwin-arm64, which the lock does not hold"]);
  });

  it("finds a dependency added to package.json but not to the lock", () => {
    const pkg = read<PackageJson>(readFileSync(`${root}package.json`, "utf8"));
    const lock = read<Lock>(readFileSync(`${root}package-lock.json`, "utf8"));
    const problems = lockProblems({ ...pkg, dependencies: { ...pkg.dependencies, "left-pad": "1.3.0" } }, lock);
    expect(problems).toEqual(["dependencies.left-pad: package.json has 1.3.0, the lock has nothing"]);
  });
});

import type { RepoSnapshot } from "./repo.ts";

export type Stack = "node" | "python" | "go" | "rust" | "java";

/** A command the repo declares, with where it was read (so `check` can tell when it went away). */
export interface RepoCommand {
  kind: "build" | "test" | "lint" | "typecheck" | "format";
  command: string;
  /** `package.json#scripts.test`, `Makefile#test`, `go.mod` … */
  source: string;
}

/** One buildable unit: the root, or a workspace member with its own manifest. */
export interface Component {
  /** Relative dir, "." for the root. */
  path: string;
  stack: Stack;
  /** npm, pnpm, yarn, bun, poetry, uv, pip, go, cargo, maven, gradle. */
  packageManager: string;
  commands: RepoCommand[];
  /** Workspace member globs or dirs the manifest declares. */
  workspaces: string[];
}

const join = (dir: string, file: string): string => (dir === "." ? file : `${dir}/${file}`);
const has = (repo: RepoSnapshot, path: string): boolean => repo.files.includes(path);

const NODE_SCRIPT_KINDS: ReadonlyArray<[RepoCommand["kind"], string[]]> = [
  ["build", ["build"]],
  ["test", ["test"]],
  ["lint", ["lint"]],
  ["typecheck", ["typecheck", "type-check", "tsc"]],
  ["format", ["format", "fmt"]],
];

function node(repo: RepoSnapshot, dir: string): Component | undefined {
  const text = repo.read(join(dir, "package.json"));
  if (text === undefined) return undefined;
  let manifest: { scripts?: Record<string, unknown>; workspaces?: unknown; packageManager?: unknown };
  try {
    manifest = JSON.parse(text) as typeof manifest;
  } catch (err) {
    throw new Error(`${join(dir, "package.json")}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const declared = typeof manifest.packageManager === "string" ? manifest.packageManager.split("@")[0] : undefined;
  const pm = has(repo, join(dir, "pnpm-lock.yaml")) ? "pnpm" : has(repo, join(dir, "yarn.lock")) ? "yarn" : has(repo, join(dir, "bun.lockb")) || has(repo, join(dir, "bun.lock")) ? "bun" : has(repo, join(dir, "package-lock.json")) ? "npm" : (declared ?? "npm");
  const scripts = manifest.scripts ?? {};
  const commands: RepoCommand[] = [];
  for (const [kind, names] of NODE_SCRIPT_KINDS) {
    const name = names.find((n) => typeof scripts[n] === "string");
    if (name) commands.push({ kind, command: `${pm} run ${name}`, source: `${join(dir, "package.json")}#scripts.${name}` });
  }
  const ws = manifest.workspaces;
  const workspaces = Array.isArray(ws)
    ? ws.filter((w): w is string => typeof w === "string")
    : typeof ws === "object" && ws !== null && Array.isArray((ws as { packages?: unknown }).packages)
      ? (ws as { packages: unknown[] }).packages.filter((w): w is string => typeof w === "string")
      : [];
  const pnpmWorkspace = repo.read(join(dir, "pnpm-workspace.yaml"));
  if (pnpmWorkspace !== undefined) for (const match of pnpmWorkspace.matchAll(/^\s*-\s*["']?([^"'\n#]+?)["']?\s*$/gm)) if (match[1]) workspaces.push(match[1]);
  return { path: dir, stack: "node", packageManager: pm, commands, workspaces };
}

/** The `[section]` of a TOML file as raw lines (enough for the keys detection reads). */
function tomlSection(text: string, name: string): string | undefined {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => l.trim() === `[${name}]`);
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && /^\s*\[/.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

/** A TOML string array (`members = ["a", "b"]`, possibly over several lines). */
function tomlArray(section: string, key: string): string[] {
  const match = new RegExp(`^\\s*${key}\\s*=\\s*\\[([^\\]]*)\\]`, "m").exec(section);
  return match?.[1] ? [...match[1].matchAll(/["']([^"']+)["']/g)].map((m) => m[1] ?? "").filter((s) => s !== "") : [];
}

function python(repo: RepoSnapshot, dir: string): Component | undefined {
  const pyproject = repo.read(join(dir, "pyproject.toml"));
  const tox = repo.read(join(dir, "tox.ini"));
  const requirements = has(repo, join(dir, "requirements.txt"));
  if (pyproject === undefined && tox === undefined && !requirements && !has(repo, join(dir, "setup.py"))) return undefined;
  const text = pyproject ?? "";
  const pm = tomlSection(text, "tool.poetry") !== undefined || has(repo, join(dir, "poetry.lock")) ? "poetry" : has(repo, join(dir, "uv.lock")) || tomlSection(text, "tool.uv") !== undefined ? "uv" : tomlSection(text, "tool.pdm") !== undefined ? "pdm" : "pip";
  const run = pm === "pip" ? "" : `${pm} run `;
  const commands: RepoCommand[] = [];
  if (tox !== undefined) commands.push({ kind: "test", command: "tox", source: join(dir, "tox.ini") });
  else if (tomlSection(text, "tool.pytest.ini_options") !== undefined) commands.push({ kind: "test", command: `${run}pytest`, source: `${join(dir, "pyproject.toml")}#tool.pytest.ini_options` });
  else if (has(repo, join(dir, "pytest.ini"))) commands.push({ kind: "test", command: `${run}pytest`, source: join(dir, "pytest.ini") });
  if (tomlSection(text, "tool.ruff") !== undefined) commands.push({ kind: "lint", command: `${run}ruff check .`, source: `${join(dir, "pyproject.toml")}#tool.ruff` });
  else if (has(repo, join(dir, "ruff.toml"))) commands.push({ kind: "lint", command: `${run}ruff check .`, source: join(dir, "ruff.toml") });
  if (tomlSection(text, "tool.mypy") !== undefined) commands.push({ kind: "typecheck", command: `${run}mypy .`, source: `${join(dir, "pyproject.toml")}#tool.mypy` });
  return { path: dir, stack: "python", packageManager: pm, commands, workspaces: tomlArray(tomlSection(text, "tool.uv.workspace") ?? "", "members") };
}

function go(repo: RepoSnapshot, dir: string): Component | undefined {
  if (repo.read(join(dir, "go.mod")) === undefined) return undefined;
  const lint =
    has(repo, join(dir, ".golangci.yml")) || has(repo, join(dir, ".golangci.yaml")) ? { kind: "lint" as const, command: "golangci-lint run", source: join(dir, ".golangci.yml") } : { kind: "lint" as const, command: "go vet ./...", source: join(dir, "go.mod") };
  const goWork = repo.read(join(dir, "go.work"));
  const workspaces = goWork ? [...goWork.matchAll(/^\s*(\.\/[^\s)]+)/gm)].map((m) => (m[1] ?? "").replace(/^\.\//, "")) : [];
  return { path: dir, stack: "go", packageManager: "go", commands: [{ kind: "build", command: "go build ./...", source: join(dir, "go.mod") }, { kind: "test", command: "go test ./...", source: join(dir, "go.mod") }, lint], workspaces };
}

function rust(repo: RepoSnapshot, dir: string): Component | undefined {
  const cargo = repo.read(join(dir, "Cargo.toml"));
  if (cargo === undefined) return undefined;
  const source = join(dir, "Cargo.toml");
  return {
    path: dir,
    stack: "rust",
    packageManager: "cargo",
    commands: [
      { kind: "build", command: "cargo build", source },
      { kind: "test", command: "cargo test", source },
      { kind: "lint", command: "cargo clippy -- -D warnings", source },
      { kind: "format", command: "cargo fmt --check", source },
    ],
    workspaces: tomlArray(tomlSection(cargo, "workspace") ?? "", "members"),
  };
}

function java(repo: RepoSnapshot, dir: string): Component | undefined {
  const pom = repo.read(join(dir, "pom.xml"));
  if (pom !== undefined) {
    const mvn = has(repo, join(dir, "mvnw")) ? "./mvnw" : "mvn";
    const source = join(dir, "pom.xml");
    const modules = [...pom.matchAll(/<module>\s*([^<\s]+)\s*<\/module>/g)].map((m) => m[1] ?? "");
    return {
      path: dir,
      stack: "java",
      packageManager: "maven",
      commands: [
        { kind: "build", command: `${mvn} -B package`, source },
        { kind: "test", command: `${mvn} -B test`, source },
      ],
      workspaces: modules,
    };
  }
  const gradleFile = ["build.gradle.kts", "build.gradle"].map((f) => join(dir, f)).find((f) => has(repo, f));
  if (!gradleFile) return undefined;
  const gradle = has(repo, join(dir, "gradlew")) ? "./gradlew" : "gradle";
  const settings = repo.read(join(dir, "settings.gradle.kts")) ?? repo.read(join(dir, "settings.gradle")) ?? "";
  const modules = [...settings.matchAll(/include\s*\(?\s*([^)\n]+)\)?/g)].flatMap((m) => [...(m[1] ?? "").matchAll(/["']:?([^"']+)["']/g)].map((x) => (x[1] ?? "").replace(/:/g, "/")));
  return {
    path: dir,
    stack: "java",
    packageManager: "gradle",
    commands: [
      { kind: "build", command: `${gradle} build`, source: gradleFile },
      { kind: "test", command: `${gradle} test`, source: gradleFile },
    ],
    workspaces: modules,
  };
}

const DETECTORS = [node, python, go, rust, java] as const;

/** Every stack whose manifest sits in `dir` (a polyglot dir has several). */
export function componentsIn(repo: RepoSnapshot, dir: string): Component[] {
  return DETECTORS.map((detect) => detect(repo, dir)).filter((c): c is Component => c !== undefined);
}

/** Targets of a Makefile (`name:` at the start of a line, not a special `.TARGET`). */
export function makeTargets(text: string): string[] {
  const targets = new Set<string>();
  for (const match of text.matchAll(/^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*:(?!=)/gm)) if (match[1]) targets.add(match[1]);
  return [...targets];
}

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** What a fixture repo was generated with: the detection the test expects, derived from the generator's own choices. */
export interface ExpectedRepo {
  name: string;
  variant: string;
  /** Root commands in kind order. */
  commands: string[];
  /** `path stack packageManager` per component, root first then by path. */
  components: string[];
  workspaces: string[];
  generatedDirs: string[];
  owner: string;
  dependsOn: string[];
}

type Files = Record<string, string>;

const VARIANTS = ["node-npm", "node-pnpm-workspaces", "python-poetry", "python-tox", "go", "rust-workspace", "java-maven", "java-gradle", "polyglot-monorepo"] as const;

function variantFiles(variant: (typeof VARIANTS)[number], i: number): { files: Files; dirs: string[]; expected: Pick<ExpectedRepo, "commands" | "components" | "workspaces" | "generatedDirs"> } {
  switch (variant) {
    case "node-npm":
      return {
        files: {
          "package.json": JSON.stringify({ name: `svc-${i}`, scripts: { build: "tsc", test: "vitest run", lint: "eslint .", start: "node dist/index.js" } }),
          "package-lock.json": "{}",
          "tsconfig.json": "{}",
          "src/index.ts": "export const x = 1;\n",
          "src/util.ts": "export {};\n",
          "dist/index.js": "",
        },
        dirs: ["node_modules"],
        expected: { commands: ["npm run build", "npm run test", "npm run lint"], components: [". node npm"], workspaces: [], generatedDirs: ["dist", "node_modules"] },
      };
    case "node-pnpm-workspaces":
      return {
        files: {
          "package.json": JSON.stringify({ name: `svc-${i}`, private: true, scripts: { test: "pnpm -r test", typecheck: "tsc -b" } }),
          "pnpm-lock.yaml": "",
          "pnpm-workspace.yaml": "packages:\n  - 'packages/*'\n",
          "packages/a/package.json": JSON.stringify({ name: "a", scripts: { test: "vitest" } }),
          "packages/a/index.ts": "",
          "packages/b/package.json": JSON.stringify({ name: "b", scripts: { build: "tsc" } }),
          "packages/b/index.js": "",
        },
        dirs: [],
        expected: { commands: ["pnpm run test", "pnpm run typecheck"], components: [". node pnpm", "packages/a node npm", "packages/b node npm"], workspaces: ["packages/*"], generatedDirs: [] },
      };
    case "python-poetry":
      return {
        files: { "pyproject.toml": `[tool.poetry]\nname = "svc-${i}"\n\n[tool.pytest.ini_options]\naddopts = "-q"\n\n[tool.ruff]\nline-length = 100\n`, "poetry.lock": "", "app/main.py": "print(1)\n", "tests/test_main.py": "" },
        dirs: [".venv", "__pycache__"],
        expected: { commands: ["poetry run pytest", "poetry run ruff check ."], components: [". python poetry"], workspaces: [], generatedDirs: [".venv", "__pycache__"] },
      };
    case "python-tox":
      return {
        files: { "requirements.txt": "requests\n", "tox.ini": "[tox]\nenvlist = py311\n", Makefile: "lint:\n\tflake8\n\nclean:\n\trm -rf build\n", "lib/core.py": "" },
        dirs: [],
        expected: { commands: ["tox", "make lint"], components: [". python pip"], workspaces: [], generatedDirs: [] },
      };
    case "go":
      return {
        files: { "go.mod": `module example.com/svc-${i}\n\ngo 1.22\n`, "main.go": "package main\n", "internal/x/x.go": "package x\n", ".golangci.yml": "linters: {}\n", Makefile: "build:\n\tgo build ./...\n" },
        dirs: ["vendor"],
        expected: { commands: ["go build ./...", "go test ./...", "golangci-lint run"], components: [". go go"], workspaces: [], generatedDirs: ["vendor"] },
      };
    case "rust-workspace":
      return {
        files: { "Cargo.toml": '[workspace]\nmembers = ["crates/core", "crates/cli"]\n', "crates/core/Cargo.toml": '[package]\nname = "core"\n', "crates/core/src/lib.rs": "", "crates/cli/Cargo.toml": '[package]\nname = "cli"\n', "crates/cli/src/main.rs": "" },
        dirs: ["target"],
        expected: {
          commands: ["cargo build", "cargo test", "cargo clippy -- -D warnings", "cargo fmt --check"],
          components: [". rust cargo", "crates/cli rust cargo", "crates/core rust cargo"],
          workspaces: ["crates/core", "crates/cli"],
          generatedDirs: ["target"],
        },
      };
    case "java-maven":
      return {
        files: {
          "pom.xml": "<project><modules>\n  <module>api</module>\n  <module>core</module>\n</modules></project>\n",
          mvnw: "#!/bin/sh\n",
          "api/pom.xml": "<project/>",
          "api/src/main/java/A.java": "class A {}\n",
          "core/pom.xml": "<project/>",
          "core/src/main/java/B.java": "class B {}\n",
        },
        dirs: ["target"],
        expected: { commands: ["./mvnw -B package", "./mvnw -B test"], components: [". java maven", "api java maven", "core java maven"], workspaces: ["api", "core"], generatedDirs: ["target"] },
      };
    case "java-gradle":
      return {
        files: {
          "build.gradle.kts": "plugins { java }\n",
          "settings.gradle.kts": 'include("app", "lib")\n',
          gradlew: "#!/bin/sh\n",
          "app/build.gradle.kts": "",
          "app/src/Main.kt": "fun main() {}\n",
          "lib/build.gradle.kts": "",
          "lib/src/Lib.java": "class Lib {}\n",
        },
        dirs: ["build", ".gradle"],
        expected: { commands: ["./gradlew build", "./gradlew test"], components: [". java gradle", "app java gradle", "lib java gradle"], workspaces: ["app", "lib"], generatedDirs: [".gradle", "build"] },
      };
    case "polyglot-monorepo":
      return {
        files: {
          "package.json": JSON.stringify({ name: `svc-${i}`, workspaces: ["web"], scripts: { lint: "eslint .", test: "npm test -ws" } }),
          "package-lock.json": "{}",
          "web/package.json": JSON.stringify({ name: "web", scripts: { build: "vite build" } }),
          "web/src/app.tsx": "",
          "services/api/go.mod": "module example.com/api\n",
          "services/api/main.go": "package main\n",
          "tools/ml/pyproject.toml": '[project]\nname = "ml"\n\n[tool.uv]\n\n[tool.pytest.ini_options]\n',
          "tools/ml/uv.lock": "",
          "tools/ml/train.py": "",
          Makefile: "build:\n\tmake -C services/api\n\ntest: lint\n",
        },
        dirs: ["node_modules"],
        expected: { commands: ["make build", "npm run test", "npm run lint"], components: [". node npm", "services/api go go", "tools/ml python uv", "web node npm"], workspaces: ["web"], generatedDirs: ["node_modules"] },
      };
  }
}

/** Writes `count` small repos of mixed stacks under `root`, each with a catalog-info.yaml; returns what each should be detected as. */
export function generateFleet(root: string, count: number): ExpectedRepo[] {
  const out: ExpectedRepo[] = [];
  for (let i = 0; i < count; i++) {
    const variant = VARIANTS[i % VARIANTS.length] ?? "go";
    const name = `svc-${String(i).padStart(4, "0")}`;
    const { files, dirs, expected } = variantFiles(variant, i);
    const owner = `team-${i % 7}`;
    const dependsOn = i > 0 ? [`component:default/svc-${String(i - 1).padStart(4, "0")}`] : [];
    files["catalog-info.yaml"] =
      `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: service\n  lifecycle: production\n  owner: ${owner}\n${dependsOn.length > 0 ? `  dependsOn:\n${dependsOn.map((d) => `    - ${d}\n`).join("")}` : ""}`;
    const repo = join(root, name);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(repo, path)), { recursive: true });
      writeFileSync(join(repo, path), text);
    }
    for (const dir of dirs) mkdirSync(join(repo, dir), { recursive: true });
    out.push({ name, variant, ...expected, owner: `group:default/${owner}`, dependsOn });
  }
  return out;
}

/** File extension → language name, for matching Codex rules and for prompts. */
const byExtension: Record<string, string> = {
  ts: "typescript",
  tsx: "typescript",
  mts: "typescript",
  cts: "typescript",
  js: "javascript",
  jsx: "javascript",
  mjs: "javascript",
  cjs: "javascript",
  py: "python",
  go: "go",
  rs: "rust",
  rb: "ruby",
  java: "java",
  kt: "kotlin",
  cs: "csharp",
  php: "php",
  swift: "swift",
  c: "c",
  h: "c",
  cc: "cpp",
  cpp: "cpp",
  hpp: "cpp",
  sql: "sql",
  sh: "shell",
  bash: "shell",
  yaml: "yaml",
  yml: "yaml",
  json: "json",
  md: "markdown",
  tf: "terraform",
  proto: "protobuf",
  css: "css",
  scss: "css",
  html: "html",
};

export function languageOf(path: string): string | undefined {
  const base = path.split("/").pop() ?? path;
  if (base === "Dockerfile") return "dockerfile";
  const dot = base.lastIndexOf(".");
  if (dot < 0) return undefined;
  return byExtension[base.slice(dot + 1).toLowerCase()];
}

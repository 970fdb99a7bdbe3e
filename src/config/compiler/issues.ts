/** One problem found while compiling a config directory, located precisely enough to fix. */
export interface ConfigIssue {
  /** Path relative to the config directory. */
  file: string;
  line: number;
  column: number;
  /** Dotted field path inside the file, or "" for the file itself. */
  field: string;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.field ? `${where}: ${issue.field}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** Thrown when a config directory does not compile; the message lists every issue. */
export class ConfigCompileError extends Error {
  override readonly name = "ConfigCompileError";
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`Invalid config (${issues.length} ${issues.length === 1 ? "problem" : "problems"}):\n${issues.map((i) => `  ${formatIssue(i)}`).join("\n")}`);
  }
}

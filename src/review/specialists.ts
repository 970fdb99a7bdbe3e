import type { ReviewerName } from "./config.ts";
import type { Tier } from "./tier.ts";

export interface Specialist {
  name: ReviewerName;
  focus: string;
  flag: string[];
  doNotFlag: string[];
}

const common = [
  "Style, formatting or naming preferences a linter or formatter would catch.",
  "Anything in lines this change did not touch, unless the change makes it wrong.",
  "Speculation: if you cannot point to the exact line and quote it, do not report it.",
];

export const specialists: Record<ReviewerName, Specialist> = {
  generalist: {
    name: "generalist",
    focus: "correctness of a small change",
    flag: ["Bugs: wrong condition, off-by-one, null/undefined access, wrong variable, broken error handling.", "Security holes introduced by the change.", "A change that breaks callers of a changed function."],
    doNotFlag: [...common, "Missing tests or docs for a tiny change."],
  },
  security: {
    name: "security",
    focus: "security vulnerabilities introduced by this change",
    flag: [
      "Injection (SQL, shell, path traversal, template) where input reaches a sink.",
      "Missing or broken authentication/authorization checks.",
      "Secrets, tokens or keys committed, logged or returned.",
      "Weak crypto, disabled TLS verification, unsafe deserialization.",
    ],
    doNotFlag: [...common, "Theoretical risks whose preconditions do not exist in this code (e.g. injection where the input is a constant).", "Hardening wishes unrelated to the change."],
  },
  performance: {
    name: "performance",
    focus: "performance regressions",
    flag: ["N+1 queries, queries or I/O inside loops over unbounded data.", "Quadratic work on inputs that can be large.", "Missing pagination/limits, unbounded memory growth, blocking calls on hot paths."],
    doNotFlag: [...common, "Micro-optimisations with no measurable effect.", "Code that runs once at startup."],
  },
  quality: {
    name: "quality",
    focus: "correctness and maintainability",
    flag: ["Logic bugs: wrong condition, off-by-one, wrong variable, unhandled error or edge case.", "Swallowed errors, resource leaks, race conditions.", "Dead or duplicated logic that will diverge."],
    doNotFlag: [...common, "Refactors you would have done differently when the code is correct."],
  },
  docs: {
    name: "docs",
    focus: "documentation that this change makes wrong or leaves missing",
    flag: ["Docs, README or comments contradicted by the change.", "A new public command, option, endpoint or config field with no documentation."],
    doNotFlag: [...common, "Typos in untouched text.", "Missing docstrings on private helpers."],
  },
  release: {
    name: "release",
    focus: "release safety and compatibility",
    flag: ["Breaking changes to a public API, CLI, config or wire format without a migration path.", "Database migrations that lose data, lock big tables or cannot be rolled back.", "Changed defaults that alter behaviour for existing users."],
    doNotFlag: [...common, "Internal refactors with no external surface."],
  },
  "agents-md": {
    name: "agents-md",
    focus: "whether AGENTS.md is still true after this change",
    flag: ["Build, test or run commands in AGENTS.md that the change renamed or removed.", "Conventions or paths AGENTS.md states that the change contradicts."],
    doNotFlag: [...common, "Missing AGENTS.md content unrelated to the change."],
  },
  codex: {
    name: "codex",
    focus: "violations of the Engineering Codex rules given below",
    flag: ["A changed line that violates one of the given rules. Every finding MUST set `rule` to the id of the given rule it violates."],
    doNotFlag: [...common, "Anything not covered by a given rule: report nothing rather than invent a rule id.", "Cases the rule lists as exceptions."],
  },
};

/**
 * Which specialists a tier runs. Trivial: one generalist. Lite: quality + docs + one more
 * (Codex when rules apply, else security). Full: all that apply.
 */
export function specialistsFor(tier: Tier, context: { codexRules: number; hasAgentsMd: boolean }): ReviewerName[] {
  if (tier === "trivial") return ["generalist"];
  if (tier === "lite") return ["quality", "docs", context.codexRules > 0 ? "codex" : "security"];
  const all: ReviewerName[] = ["security", "performance", "quality", "docs", "release"];
  if (context.hasAgentsMd) all.push("agents-md");
  if (context.codexRules > 0) all.push("codex");
  return all;
}

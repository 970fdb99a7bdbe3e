// The CLI and its docs agree: every option of every `gatehouse` command is on a page that
// talks about that command, and every `--flag` a docs command line uses exists.
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../src/cli/main.ts";
import { codeBlocks, docPages } from "./markdown.ts";

interface CommandInfo {
  path: string;
  command: Command;
  /** Its own flags and those of its ancestors (commander lets a subcommand read them). */
  flags: Set<string>;
}

function commands(program: Command): CommandInfo[] {
  const out: CommandInfo[] = [];
  const walk = (parent: Command, path: string[], inherited: Set<string>) => {
    for (const sub of parent.commands) {
      const p = [...path, sub.name()];
      const flags = new Set(inherited);
      for (const o of sub.options) {
        if (o.long) flags.add(o.long);
        if (o.short) flags.add(o.short);
        // commander spells a negatable option --no-x; its positive form is not a flag.
      }
      flags.add("--help").add("-h");
      out.push({ path: p.join(" "), command: sub, flags });
      walk(sub, p, flags);
    }
  };
  walk(program, [], new Set());
  return out;
}

// Every command module loaded (the CLI itself loads only the one it runs).
const all = commands(await buildProgram());
const pages = docPages();

/** Lines of docs code blocks that run gatehouse: `gatehouse …` or `node …/bin/gatehouse.js …`. */
function commandLines(): Array<{ where: string; words: string[] }> {
  const lines: Array<{ where: string; words: string[] }> = [];
  for (const block of pages.flatMap(codeBlocks)) {
    block.code.split("\n").forEach((raw, i) => {
      const m = /(?:^|[\s$(;&|]|^-\s|run:\s)(?:gatehouse|node\s+\S*bin\/gatehouse\.js)\s+([a-z][^#\n]*)/.exec(raw);
      if (!m?.[1]) return;
      const words = m[1]
        .replace(/\\$/, "")
        .split(/\s+/)
        .filter((w) => w !== "");
      lines.push({ where: `${block.page}:${block.line + i + 1}`, words });
    });
  }
  return lines;
}

function resolve(words: readonly string[]): CommandInfo | undefined {
  let best: CommandInfo | undefined;
  for (const info of all) {
    const parts = info.path.split(" ");
    const positional = words.filter((w) => !w.startsWith("-"));
    if (parts.every((p, i) => positional[i] === p) && (!best || parts.length > best.path.split(" ").length)) best = info;
  }
  return best;
}

describe("CLI options and the docs", () => {
  it("finds the commands and the docs command lines", () => {
    expect(all.map((c) => c.path)).toEqual(expect.arrayContaining(["review", "review eval", "mcp audit", "serve", "usage"]));
    expect(commandLines().length).toBeGreaterThan(10);
  });

  it("every option of every command is on a page that names the command", () => {
    const missing: string[] = [];
    for (const info of all) {
      const own = info.command.options.filter((o) => o.long !== "--help");
      if (own.length === 0) continue;
      const about = pages.filter((p) => p.text.includes(`gatehouse ${info.path}`));
      if (about.length === 0) {
        missing.push(`gatehouse ${info.path}: no docs page names it`);
        continue;
      }
      const text = about.map((p) => p.text).join("\n");
      for (const o of own) {
        const spelled = [o.long, o.short].filter((f): f is string => f !== undefined);
        if (!spelled.some((f) => new RegExp(`(?:^|[\\s\`\\[(|])${f.replace(/[-]/g, "\\-")}(?![\\w-])`).test(text))) missing.push(`gatehouse ${info.path} ${spelled.join("/")} (pages: ${about.map((p) => p.path).join(", ")})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("every flag in a docs command line exists on that command", () => {
    const wrong: string[] = [];
    for (const line of commandLines()) {
      const info = resolve(line.words);
      if (!info) {
        wrong.push(`${line.where}: gatehouse ${line.words.join(" ")}: no such command`);
        continue;
      }
      for (const word of line.words) {
        const flag = /^(--?[A-Za-z][\w-]*)/.exec(word)?.[1];
        if (flag && !info.flags.has(flag)) wrong.push(`${line.where}: gatehouse ${info.path} has no ${flag}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

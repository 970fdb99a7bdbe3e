// Test support: structural parsers for the deployment examples in docs/operations.md.
// nginx and Caddy are not installed on the test machines, so their files are parsed here:
// balanced blocks, directives with arguments, and names checked against a known list.

export interface Directive {
  name: string;
  args: string[];
  line: number;
  block: Directive[] | undefined;
}

/** nginx: `name args…;` or `name args… { … }`, `#` comments, single/double quotes. */
export function parseNginx(text: string): Directive[] {
  const tokens: Array<{ value: string; line: number; quoted: boolean }> = [];
  let line = 1;
  for (let i = 0; i < text.length;) {
    const ch = text[i] ?? "";
    if (ch === "\n") {
      line += 1;
      i += 1;
    } else if (/\s/.test(ch)) i += 1;
    else if (ch === "#") while (i < text.length && text[i] !== "\n") i += 1;
    else if (ch === "{" || ch === "}" || ch === ";") {
      tokens.push({ value: ch, line, quoted: false });
      i += 1;
    } else if (ch === '"' || ch === "'") {
      const end = text.indexOf(ch, i + 1);
      if (end < 0) throw new Error(`nginx: unterminated quote on line ${line}`);
      tokens.push({ value: text.slice(i + 1, end), line, quoted: true });
      i = end + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s{};#]/.test(text[j] ?? "")) j += 1;
      tokens.push({ value: text.slice(i, j), line, quoted: false });
      i = j;
    }
  }
  let pos = 0;
  const parseBlock = (closing: boolean): Directive[] => {
    const out: Directive[] = [];
    while (pos < tokens.length) {
      const first = tokens[pos];
      if (!first) break;
      if (!first.quoted && first.value === "}") {
        if (!closing) throw new Error(`nginx: unexpected "}" on line ${first.line}`);
        pos += 1;
        return out;
      }
      if (!first.quoted && (first.value === "{" || first.value === ";")) throw new Error(`nginx: unexpected "${first.value}" on line ${first.line}`);
      pos += 1;
      const args: string[] = [];
      for (;;) {
        const t = tokens[pos];
        if (!t) throw new Error(`nginx: directive "${first.value}" on line ${first.line} is not terminated by ";" or a block`);
        pos += 1;
        if (!t.quoted && t.value === ";") {
          out.push({ name: first.value, args, line: first.line, block: undefined });
          break;
        }
        if (!t.quoted && t.value === "{") {
          out.push({ name: first.value, args, line: first.line, block: parseBlock(true) });
          break;
        }
        if (!t.quoted && t.value === "}") throw new Error(`nginx: "}" before ";" after "${first.value}" on line ${first.line}`);
        args.push(t.value);
      }
    }
    if (closing) throw new Error("nginx: a block is never closed");
    return out;
  };
  return parseBlock(false);
}

/** Caddyfile: one directive per line, `{` at the end of a line opens a block, `}` alone closes it. */
export function parseCaddyfile(text: string): Directive[] {
  const root: Directive[] = [];
  const stack: Directive[][] = [root];
  text.split("\n").forEach((raw, index) => {
    const lineNo = index + 1;
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line === "") return;
    const current = stack[stack.length - 1];
    if (!current) throw new Error(`Caddyfile: block stack broken on line ${lineNo}`);
    if (line === "}") {
      if (stack.length === 1) throw new Error(`Caddyfile: unexpected "}" on line ${lineNo}`);
      stack.pop();
      return;
    }
    const opens = line.endsWith("{");
    const words = (opens ? line.slice(0, -1) : line)
      .trim()
      .split(/\s+/)
      .filter((w) => w !== "");
    if (words.some((w) => w.includes("{") || w.includes("}"))) throw new Error(`Caddyfile: braces must end a line or stand alone (line ${lineNo})`);
    const [name = "", ...args] = words;
    const directive: Directive = { name, args, line: lineNo, block: opens ? [] : undefined };
    current.push(directive);
    if (directive.block) stack.push(directive.block);
  });
  if (stack.length !== 1) throw new Error("Caddyfile: a block is never closed");
  return root;
}

export function find(directives: readonly Directive[] | undefined, name: string): Directive[] {
  return (directives ?? []).filter((d) => d.name === name);
}

export function walk(directives: readonly Directive[], visit: (d: Directive, parent: string | undefined) => void, parent?: string): void {
  for (const d of directives) {
    visit(d, parent);
    if (d.block) walk(d.block, visit, d.name);
  }
}

/** nginx time (`3600s`, `1h`, `90`) or Caddy/Go duration (`6m`, `1h`, `10s`) in seconds. */
export function seconds(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value);
  if (!m) throw new Error(`not a duration: ${value}`);
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  return unit === "ms" ? n / 1000 : unit === "s" ? n : unit === "m" ? n * 60 : unit === "h" ? n * 3600 : n * 86400;
}

/** nginx size (`32m`, `1g`, `512k`) or Caddy size (`32MB`, `1GB`) in bytes. */
export function bytes(value: string): number {
  const m = /^(\d+)\s*(k|kb|m|mb|g|gb|kib|mib|gib)?$/i.exec(value);
  if (!m) throw new Error(`not a size: ${value}`);
  const n = Number(m[1]);
  const unit = (m[2] ?? "").toLowerCase();
  const power = unit.startsWith("k") ? 1 : unit.startsWith("m") ? 2 : unit.startsWith("g") ? 3 : 0;
  return n * 1024 ** power;
}

/** A systemd unit file: `[Section]` headers, `Key=Value` lines (repeats kept in order). */
export function parseUnit(text: string): Map<string, Array<{ key: string; value: string; line: number }>> {
  const sections = new Map<string, Array<{ key: string; value: string; line: number }>>();
  let current: Array<{ key: string; value: string; line: number }> | undefined;
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    const section = /^\[([A-Za-z]+)\]$/.exec(line);
    if (section?.[1]) {
      current = [];
      sections.set(section[1], current);
      return;
    }
    const pair = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!pair?.[1] || !current) throw new Error(`unit line ${index + 1} is neither a [Section] nor Key=Value: ${line}`);
    current.push({ key: pair[1], value: pair[2] ?? "", line: index + 1 });
  });
  return sections;
}

/** An environment file: KEY=VALUE lines and comments, as systemd's EnvironmentFile= reads them. */
export function parseEnvFile(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const pair = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!pair?.[1]) throw new Error(`environment file line ${index + 1} is not KEY=VALUE: ${line}`);
    vars.set(pair[1], (pair[2] ?? "").replace(/^"(.*)"$/, "$1"));
  });
  return vars;
}

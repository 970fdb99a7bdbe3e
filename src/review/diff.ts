/** A unified diff parsed into what the reviewer needs: files, hunks, changed line numbers. */
export interface DiffHunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** The hunk text including its @@ header. */
  text: string;
}

export type FileStatus = "added" | "modified" | "deleted" | "renamed";

export interface DiffFile {
  path: string;
  oldPath: string;
  status: FileStatus;
  binary: boolean;
  hunks: DiffHunk[];
  /** Line numbers (new file) that were added or changed. */
  addedLines: number[];
  additions: number;
  deletions: number;
  /** Added lines' text, for generated-file markers. */
  addedText: string[];
}

const hunkHeader = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

function stripPrefix(path: string): string {
  const unquoted = path.startsWith('"') && path.endsWith('"') ? path.slice(1, -1) : path;
  return unquoted.replace(/^[ab]\//, "");
}

export function parseUnifiedDiff(text: string): DiffFile[] {
  const files: DiffFile[] = [];
  let file: DiffFile | undefined;
  let hunk: DiffHunk | undefined;
  let newLine = 0;
  const lines = text.split("\n");
  for (const line of lines) {
    if (line.startsWith("diff --git ")) {
      const m = /^diff --git (\S+|"[^"]+") (\S+|"[^"]+")$/.exec(line);
      const oldPath = stripPrefix(m?.[1] ?? "");
      const path = stripPrefix(m?.[2] ?? "");
      file = { path, oldPath, status: "modified", binary: false, hunks: [], addedLines: [], additions: 0, deletions: 0, addedText: [] };
      files.push(file);
      hunk = undefined;
      continue;
    }
    if (!file) continue;
    if (!hunk) {
      if (line.startsWith("new file mode")) file.status = "added";
      else if (line.startsWith("deleted file mode")) file.status = "deleted";
      else if (line.startsWith("rename from ")) {
        file.status = "renamed";
        file.oldPath = line.slice("rename from ".length);
      } else if (line.startsWith("rename to ")) file.path = line.slice("rename to ".length);
      else if (line.startsWith("Binary files ") || line.startsWith("GIT binary patch")) file.binary = true;
      else if (line.startsWith("+++ ") && line !== "+++ /dev/null") file.path = stripPrefix(line.slice(4));
    }
    const header = hunkHeader.exec(line);
    if (header) {
      hunk = {
        oldStart: Number(header[1]),
        oldLines: header[2] === undefined ? 1 : Number(header[2]),
        newStart: Number(header[3]),
        newLines: header[4] === undefined ? 1 : Number(header[4]),
        text: line,
      };
      file.hunks.push(hunk);
      newLine = hunk.newStart;
      continue;
    }
    if (!hunk) continue;
    if (line.startsWith("+")) {
      file.addedLines.push(newLine);
      file.addedText.push(line.slice(1));
      file.additions += 1;
      newLine += 1;
    } else if (line.startsWith("-")) {
      file.deletions += 1;
    } else if (line.startsWith(" ")) {
      newLine += 1;
    } else if (line.startsWith("\\")) {
      // "\ No newline at end of file": not a line of either side.
    } else {
      continue;
    }
    hunk.text += `\n${line}`;
  }
  return files;
}

/** Whether a new-file line is within a hunk (what GitHub/GitLab accept for an inline comment). */
export function lineInHunks(file: DiffFile, line: number, slack = 0): boolean {
  return file.hunks.some((h) => line >= h.newStart - slack && line < h.newStart + Math.max(h.newLines, 1) + slack);
}

/** The patch of one file, as given to reviewers. */
export function filePatch(file: DiffFile): string {
  const header = file.status === "renamed" ? `--- ${file.oldPath}\n+++ ${file.path}` : `--- ${file.status === "added" ? "/dev/null" : file.oldPath}\n+++ ${file.status === "deleted" ? "/dev/null" : file.path}`;
  return `${header}\n${file.hunks.map((h) => h.text).join("\n")}`;
}

// Shell blocks of the documentation that the e2e suite runs as written (test/e2e/readme.e2e.ts,
// docs/e2e.md "Documentation blocks"). Pure text handling, no I/O:
//
// - A block is marked by an HTML comment on the line right above its fence, invisible once
//   rendered:   <!-- e2e: NAME -->   then   ```sh … ```
// - Its promised output is written under a command as a comment line   # → TEXT   where `…`
//   stands for anything within one line. The output must hold each such line, in order, as
//   whole lines.
// - Before running, only ports and paths change: 8787 (the Worker) and 8428 (VictoriaMetrics)
//   become free ports, /tmp/vm-data a fresh directory.

export interface DocBlock {
  /** File the block comes from, as given to extractBlocks. */
  file: string;
  /** The marker's NAME. */
  name: string;
  /** 1-based line of the fence's first line of code. */
  line: number;
  /** The code between the fences, as written. */
  code: string;
}

const MARKER = /^<!-- e2e: ([a-z0-9][a-z0-9-]*) -->\s*$/;
const FENCE_OPEN = /^```(sh|bash|shell)\s*$/;

/** Every marked block of `text`, in order. A marker not followed by a shell fence is an error. */
export function extractBlocks(file: string, text: string): DocBlock[] {
  const lines = text.split("\n");
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = MARKER.exec(lines[i]!);
    if (!m) continue;
    if (!FENCE_OPEN.test(lines[i + 1] ?? "")) {
      throw new Error(`${file}:${i + 1}: marker "${m[1]}" is not followed by a \`\`\`sh fence`);
    }
    const end = lines.findIndex((l, j) => j > i + 1 && l.trimEnd() === "```");
    if (end < 0) throw new Error(`${file}:${i + 2}: block "${m[1]}" has no closing fence`);
    blocks.push({ file, name: m[1]!, line: i + 3, code: `${lines.slice(i + 2, end).join("\n")}\n` });
    i = end;
  }
  return blocks;
}

export interface Substitutions {
  /** Replaces 8787. */
  workerPort: number;
  /** Replaces 8428. */
  vmPort: number;
  /** Replaces /tmp/vm-data. */
  vmDataDir: string;
}

/** The documented substitutions, and nothing else: ports as whole numbers, one path. */
export function substitute(code: string, s: Substitutions): string {
  return code
    .replace(/(?<![0-9])8787(?![0-9])/g, String(s.workerPort))
    .replace(/(?<![0-9])8428(?![0-9])/g, String(s.vmPort))
    .replaceAll("/tmp/vm-data", s.vmDataDir);
}

/** The `# → …` lines of a block, without the prefix, in order. */
export function promisedLines(code: string): string[] {
  return code
    .split("\n")
    .map((l) => /^\s*# → (.*?)\s*$/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined);
}

/** One promised line as a whole-line pattern: `…` matches anything within the line. */
export function promisePattern(promised: string): RegExp {
  const escaped = promised.split("…").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join("[^\\n]*?")}$`, "m");
}

/**
 * Lines `wrangler dev` logs while `npm start` runs in the background of a block (one per
 * request). They share the block's stdout and may land in the middle of a command's output
 * line, so they are cut out wherever they start.
 */
export function withoutBackgroundLogs(output: string): string {
  return output.replace(/\[wrangler:[a-z]+\][^\n]*\n?/g, "");
}

/**
 * The first promised line missing from `output` (each searched after the previous one's match),
 * or undefined when all are there.
 */
export function firstMissingPromise(output: string, promised: string[]): string | undefined {
  let rest = withoutBackgroundLogs(output);
  for (const p of promised) {
    const m = promisePattern(p).exec(rest);
    if (!m) return p;
    rest = rest.slice(m.index + m[0].length);
  }
  return undefined;
}

/** Access-token and API-key secrets replaced, for output shown in a failure message. */
export function redactSecrets(text: string): string {
  return text.replace(/\b(vmat|vmak)_[A-Za-z0-9_-]+/g, "$1_<redacted>");
}

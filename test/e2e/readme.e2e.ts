// The documentation's shell blocks, run as written: a README change that breaks a promised
// output fails `npm test`. How blocks are marked, what is substituted and how output is checked:
// docs/e2e.md, "Documentation blocks"; the text handling is in lib/doc-blocks.ts.
//
// The blocks run in order with bash (-euo pipefail: a failing command fails its block), in one
// scratch copy of the project, so that what they write (.dev.vars, .wrangler/state,
// datasource.yaml) stays out of the checkout. The walk-through starts VictoriaMetrics and
// `npm start` in the background, the way a reader does; the later blocks use that Worker. At the
// end the whole process group of the walk-through is stopped.

import { spawn } from "node:child_process";
import { closeSync, cpSync, openSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  extractBlocks,
  firstMissingPromise,
  promisedLines,
  redactSecrets,
  substitute,
  withoutBackgroundLogs,
  type DocBlock,
  type Substitutions,
} from "./lib/doc-blocks.ts";
import { cleanupTempRoot, freePort, makeTempDir } from "./lib/processes.ts";
import { REPO_ROOT } from "./lib/worker.ts";

/** The blocks this file runs, in running order, and what their promises must at least cover. */
const RUN: { file: string; name: string; mustPromise: string[] }[] = [
  // Starts VictoriaMetrics and npm start; everything after it uses them.
  { file: "README.md", name: "readme-walkthrough", mustPromise: ['"42"', "401"] },
  { file: "README.md", name: "readme-tiers", mustPromise: ['"id":20'] },
  { file: "README.md", name: "readme-management", mustPromise: ["-remoteWrite.url=", "vmak_", "Revoked"] },
  { file: "docs/management.md", name: "management-cli", mustPromise: ["cli-example"] },
];
const FILES = [...new Set(RUN.map((r) => r.file))];

/** Seconds one block may take (npm start bundles and migrates on a busy machine first). */
const BLOCK_TIMEOUT_S = 240;

// Left out of the scratch copy: state a previous `npm start` or test run left in the checkout.
const NOT_COPIED = new Set([".git", ".wrangler", ".dev.vars", "test-results", "dist", "coverage", "datasource.yaml", "remote_write.yml"]);

/**
 * A scratch project: every top-level entry of the checkout symlinked, except scripts/ (copied,
 * so that start.mjs takes the scratch directory as its root) and wrangler.toml (copied, ports
 * substituted like the blocks').
 */
function scratchProject(subs: Substitutions): string {
  const dir = makeTempDir("readme-project");
  for (const entry of readdirSync(REPO_ROOT)) {
    if (NOT_COPIED.has(entry) || entry.startsWith(".dev.vars")) continue;
    const from = join(REPO_ROOT, entry);
    if (entry === "scripts") cpSync(from, join(dir, entry), { recursive: true });
    else if (entry === "wrangler.toml") writeFileSync(join(dir, entry), substitute(readFileSync(from, "utf8"), subs));
    else symlinkSync(from, join(dir, entry));
  }
  return dir;
}

interface BlockRun {
  code: number | null;
  stdout: string;
  stderr: string;
  script: string;
}

/** Process groups of blocks (and whatever they left in the background), stopped in afterAll. */
const groups = new Set<number>();
const killGroup = (pgid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pgid, signal);
  } catch {
    // gone already
  }
};
process.on("exit", () => groups.forEach((g) => killGroup(g, "SIGKILL")));

/** Run `code` with bash in `cwd`; resolves when bash exits (background jobs may live on). */
function runBlock(block: DocBlock, code: string, cwd: string, logDir: string): Promise<BlockRun> {
  const script = join(logDir, `${block.name}.sh`);
  const out = join(logDir, `${block.name}.stdout`);
  const err = join(logDir, `${block.name}.stderr`);
  writeFileSync(script, code);
  // Files, not pipes: background jobs keep writing after bash is gone, and a pipe would stay open.
  const outFd = openSync(out, "w");
  const errFd = openSync(err, "w");
  const env: Record<string, string | undefined> = {
    ...process.env,
    PATH: `${join(REPO_ROOT, "node_modules/.bin")}:${process.env.PATH ?? ""}`,
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_SEND_METRICS: "false",
    NO_COLOR: "1",
  };
  for (const k of Object.keys(env)) if (k.startsWith("VMEA_") || k.startsWith("VMCLOUD_")) delete env[k];
  const child = spawn("timeout", ["--kill-after=10", String(BLOCK_TIMEOUT_S), "bash", "-euo", "pipefail", script], {
    cwd,
    env,
    stdio: ["ignore", outFd, errFd],
    detached: true, // its own process group: npm start and VictoriaMetrics end up in it too
  });
  closeSync(outFd);
  closeSync(errFd);
  if (child.pid !== undefined) groups.add(child.pid);
  return new Promise((ok) => {
    child.once("exit", (exitCode) =>
      ok({ code: exitCode, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8"), script }),
    );
  });
}

const blocks = new Map<string, DocBlock>();
for (const file of FILES) {
  for (const b of extractBlocks(file, readFileSync(join(REPO_ROOT, file), "utf8"))) blocks.set(`${file}#${b.name}`, b);
}

let subs: Substitutions;
let project: string;
let logDir: string;
let failed = false;

beforeAll(async () => {
  subs = { workerPort: await freePort(), vmPort: await freePort(), vmDataDir: join(makeTempDir("readme-vm"), "vm-data") };
  project = scratchProject(subs);
  logDir = makeTempDir("readme-logs");
});

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  for (const g of groups) killGroup(g, "SIGTERM");
  // Bounded: whatever ignored SIGTERM for 10 s is killed.
  for (let i = 0; i < 100 && [...groups].some((g) => alive(g)); i++) await new Promise((ok) => setTimeout(ok, 100));
  for (const g of groups) killGroup(g, "SIGKILL");
  groups.clear();
  cleanupTempRoot(failed);
});

function alive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("documentation blocks", () => {
  it("marks exactly the blocks this suite runs, each once", () => {
    const marked = FILES.flatMap((file) =>
      extractBlocks(file, readFileSync(join(REPO_ROOT, file), "utf8")).map((b) => `${file}#${b.name}`),
    );
    expect(marked.sort()).toEqual(RUN.map((r) => `${r.file}#${r.name}`).sort());
  });

  for (const { file, name, mustPromise } of RUN) {
    it(`${file} "${name}" runs as written and prints what the text promises`, { timeout: (BLOCK_TIMEOUT_S + 20) * 1000 }, async () => {
      const block = blocks.get(`${file}#${name}`);
      if (block === undefined) throw new Error(`${file}: no block marked <!-- e2e: ${name} -->`);
      const promised = promisedLines(block.code);
      // The promises the surrounding text relies on are still written down.
      for (const p of mustPromise) expect(promised.some((l) => l.includes(p)), `a "# →" line with ${p}`).toBe(true);

      const run = await runBlock(block, substitute(block.code, subs), project, logDir);
      const explain = () =>
        redactSecrets(
          `${file}:${block.line} "${name}" (ran ${run.script} in ${project})\n` +
            `--- stdout (wrangler request lines removed) ---\n${withoutBackgroundLogs(run.stdout).slice(-4000)}\n` +
            `--- stderr ---\n${run.stderr.slice(-3000)}`,
        );
      expect(run.code, `exit status\n${explain()}`).toBe(0);
      const missing = firstMissingPromise(run.stdout, promised.map((p) => substitute(p, subs)));
      expect(missing, `promised output line not printed\n${explain()}`).toBeUndefined();
    });
  }

  it("npm start, started by the walk-through, printed its URLs and where the key is, never the key", () => {
    const devVars = join(project, ".dev.vars");
    const vars = readFileSync(devVars, "utf8");
    const adminKey = /^ADMIN_API_KEY=(\S+)$/m.exec(vars)?.[1];
    expect(adminKey).toBeDefined();
    expect(vars).toMatch(/^TOKEN_ENCRYPTION_KEY=\S+$/m);
    const url = `http://127.0.0.1:${subs.workerPort}`;
    const out = readFileSync(join(logDir, "readme-walkthrough.stdout"), "utf8");
    expect(out).toContain(`data plane   ${url} `);
    expect(out).toContain(`console      ${url}/console`);
    expect(out).toContain(`ADMIN_API_KEY in ${devVars} `);
    expect(out.includes(adminKey!)).toBe(false);
  });
});

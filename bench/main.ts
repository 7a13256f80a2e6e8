import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempRoot, makeTempDir, stopAll } from "../test/e2e/lib/processes.ts";
import { stopAllWorkers } from "../test/e2e/lib/worker.ts";
import { BENCH_DIR } from "./lib/stack.ts";
import type { BenchContext, Options, SectionName } from "./lib/context.ts";

const ALL_SECTIONS: SectionName[] = ["compare", "breakdown", "tokens", "vmauth-users", "creation", "hot-token", "billing", "limiter-sim", "coldstart"];

function parseArgs(argv: string[]): Options {
  const get = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  const quick = argv.includes("--quick");
  const sections = (get("sections")?.split(",") ?? (quick ? ["compare"] : ALL_SECTIONS)) as SectionName[];
  for (const s of sections) if (!ALL_SECTIONS.includes(s)) throw new Error(`unknown section ${s}; known: ${ALL_SECTIONS.join(", ")}`);
  return {
    quick,
    sections,
    repeats: Number(get("repeats") ?? (quick ? 1 : 3)),
    durationSeconds: Number(get("duration") ?? (quick ? 2 : 5)),
    c1DurationSeconds: Number(get("c1-duration") ?? (quick ? 2 : 3)),
    warmupSeconds: quick ? 1 : 2,
    concurrency: Number(get("concurrency") ?? 16),
    maxTokens: Number(get("max-tokens") ?? 100_000),
  };
}

export async function main(argv: string[]): Promise<void> {
  const options = parseArgs(argv);
  const resultsDir = join(BENCH_DIR, "results");
  mkdirSync(resultsDir, { recursive: true });
  const started = new Date().toISOString();
  const ctx: BenchContext = {
    options,
    tmpDir: makeTempDir("bench"),
    results: { started, options, argv },
    log: (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`),
  };
  let failed = false;
  const report: string[] = [];
  try {
    for (const section of options.sections) {
      const mod = await import(`./sections/${section}.ts`);
      ctx.log(`section ${section}`);
      const text: string = await mod.run(ctx);
      report.push(text);
      console.log(text);
    }
  } catch (e) {
    failed = true;
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  } finally {
    await stopAllWorkers().catch(() => undefined);
    await stopAll(2_000).catch(() => undefined);
    const stamp = started.replace(/[:.]/g, "-");
    writeFileSync(join(resultsDir, `${stamp}.json`), JSON.stringify(ctx.results, null, 2));
    writeFileSync(join(resultsDir, `${stamp}.md`), report.join("\n\n") + "\n");
    ctx.log(`results in bench/results/${stamp}.{json,md}`);
    cleanupTempRoot(failed);
  }
  if (failed) process.exitCode = 1;
  const ratios = ctx.results.ratiosLine;
  if (typeof ratios === "string") console.log(ratios);
}

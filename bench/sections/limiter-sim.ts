// How the per-token limiter behaves past one machine: bench/sim/ run in virtual time with the
// real PermitPools and ledger rule (bundled by esbuild, since src/ uses extensionless imports
// that Node cannot load as is). Virtual time makes the figures independent of machine load.
// Ends with one summary line (docs/limiter.md, issue 11's targets).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { REPO_ROOT } from "../../test/e2e/lib/worker.ts";
import type { BenchContext } from "../lib/context.ts";
import { BENCH_DIR } from "../lib/stack.ts";
import { fmt, table } from "../lib/stats.ts";
import type { Outcome, Scenario } from "../sim/limiter-sim.ts";
import { scenarios, summarise, summaryLine } from "../sim/scenarios.ts";

export async function run(ctx: BenchContext): Promise<string> {
  const entry = join(ctx.tmpDir, "sim-entry.ts");
  writeFileSync(
    entry,
    [
      `import { PermitPools } from ${JSON.stringify(join(REPO_ROOT, "src/limiter/permit-pool.ts"))};`,
      `import { decideLease, livePermits, isTight, routeViaLocation, CONTENTION_WINDOW_MS } from ${JSON.stringify(join(REPO_ROOT, "src/limiter/lease-ledger.ts"))};`,
      `import { BlockLedger } from ${JSON.stringify(join(REPO_ROOT, "src/limiter/block-ledger.ts"))};`,
      `import { simulate } from ${JSON.stringify(join(BENCH_DIR, "sim/limiter-sim.ts"))};`,
      `export const run = (s) => simulate({ PermitPools, decideLease, livePermits, isTight, contentionWindowMs: CONTENTION_WINDOW_MS, ...(s.oneLevel ? {} : { BlockLedger, routeViaLocation }) }, s);`,
    ].join("\n"),
  );
  const outfile = join(ctx.tmpDir, "sim.mjs");
  await build({ entryPoints: [entry], bundle: true, format: "esm", platform: "node", outfile, logLevel: "error" });
  const sim = (await import(pathToFileURL(outfile).href)) as { run(s: Scenario): Promise<Outcome> };
  const outcomes: Outcome[] = [];
  for (const s of scenarios(ctx.options.quick)) {
    const started = Date.now();
    const o = await sim.run(s);
    ctx.log(`sim "${s.name}": admitted ${fmt(o.admittedPct, 2)}%, ${fmt(o.doCallsPerSecond)} DO calls/s, max in flight ${o.maxInFlight}/${s.limit} (${fmt((Date.now() - started) / 1000, 1)} s)`);
    outcomes.push(o);
  }
  const summary = summarise(outcomes);
  ctx.results.limiterSim = { outcomes, summary };
  const rows = outcomes.map((o) => [
    o.name,
    `${fmt(o.offeredRps)} (${fmt(o.offeredInFlight)})`,
    `${fmt(o.admittedRps)} (${fmt(o.admittedPct, 2)}%)`,
    `${o.maxInFlight} / ${o.limit}`,
    fmt(o.meanInFlight),
    `${fmt(o.refusedPct, 2)}%`,
    `${fmt(o.unavailablePct, 2)}%`,
    `${fmt(o.doCallsPerSecond)} (${fmt(o.tokenObjectUtilisation * 100)}%)`,
    `${o.locationObjects} (${fmt(o.busiestObjectUtilisation * 100)}%)`,
    fmt(o.doQueueP99Ms, 1),
    `${fmt(o.acquireP50Ms, 1)} / ${fmt(o.acquireP99Ms, 1)}`,
  ]);
  return [
    "## Limiter past one Durable Object and one region (simulation: real PermitPools, ledger and BlockLedger, virtual time, every object 1 ms per call)",
    "",
    table(
      ["scenario", "offered req/s (in flight)", "admitted req/s", "max in flight / limit", "mean in flight", "refused (429)", "503", "token object calls/s (busy)", "location objects (busiest object busy)", "object queue p99 ms", "acquire p50 / p99 ms"],
      rows,
    ),
    "",
    summaryLine(summary),
  ].join("\n");
}

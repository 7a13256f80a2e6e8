// How the per-token limiter scales past one Durable Object and one region: bench/sim/ run in
// virtual time with the real PermitPools and ledger rule (bundled by esbuild, since src/ uses
// extensionless imports that Node cannot load as is).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { REPO_ROOT } from "../../test/e2e/lib/worker.ts";
import type { BenchContext } from "../lib/context.ts";
import { BENCH_DIR } from "../lib/stack.ts";
import { fmt, table } from "../lib/stats.ts";
import type { Outcome, Scenario } from "../sim/limiter-sim.ts";

const region = (name: string, isolates: number, rttMs: number, ratePerIsolate: number) => ({ name, isolates, rttMs, ratePerIsolate });

export function scenarios(quick: boolean): Scenario[] {
  const base = { doServiceMs: 1, seconds: quick ? 5 : 10, warmupSeconds: 3 };
  return [
    // Request rate far past one object: 20,000 req/s on one token from 20 isolates.
    { ...base, name: "20 isolates × 1,000 req/s, limit 600", limit: 600, holdMs: 10, regions: [region("local", 20, 2, 1000)] },
    // The object's own ceiling is the number of isolates checking in (~1 call/s each).
    { ...base, name: "200 isolates × 20 req/s", limit: 600, holdMs: 10, regions: [region("local", 200, 2, 20)] },
    { ...base, name: "800 isolates × 20 req/s", limit: 600, holdMs: 10, regions: [region("local", 800, 2, 20)] },
    { ...base, name: "1,500 isolates × 20 req/s", limit: 600, holdMs: 10, regions: [region("local", 1500, 2, 20)] },
    // One lever past that ceiling: a longer check-in interval (it also lengthens the revocation bound).
    { ...base, name: "1,500 isolates × 20 req/s, check-in 5 s", limit: 600, holdMs: 10, regions: [region("local", 1500, 2, 20)], checkInMs: 5_000 },
    // Past one region: the object lives near region A; B is 150 ms away. First one region alone.
    { ...base, name: "1 region, 20 isolates, 70% of limit", limit: 100, holdMs: 20, regions: [region("near", 20, 2, 175)] },
    { ...base, name: "2 regions (2 ms / 150 ms), 70% of limit", limit: 100, holdMs: 20, regions: [region("near", 10, 2, 175), region("far", 10, 150, 175)] },
    // Demand above the limit: exactness holds; what is left unused while some are refused.
    { ...base, name: "50 isolates, demand 150% of limit", limit: 100, holdMs: 20, regions: [region("local", 50, 2, 150)] },
    { ...base, name: "2 regions, demand 150% of limit", limit: 100, holdMs: 20, regions: [region("near", 25, 2, 150), region("far", 25, 150, 150)] },
  ];
}

export async function run(ctx: BenchContext): Promise<string> {
  const entry = join(ctx.tmpDir, "sim-entry.ts");
  writeFileSync(
    entry,
    [
      `import { PermitPools } from ${JSON.stringify(join(REPO_ROOT, "src/limiter/permit-pool.ts"))};`,
      `import { decideLease, CONTENTION_WINDOW_MS } from ${JSON.stringify(join(REPO_ROOT, "src/limiter/lease-ledger.ts"))};`,
      `import { simulate } from ${JSON.stringify(join(BENCH_DIR, "sim/limiter-sim.ts"))};`,
      `export const run = (s) => simulate({ PermitPools, decideLease, contentionWindowMs: CONTENTION_WINDOW_MS }, s);`,
    ].join("\n"),
  );
  const outfile = join(ctx.tmpDir, "sim.mjs");
  await build({ entryPoints: [entry], bundle: true, format: "esm", platform: "node", outfile, logLevel: "error" });
  const sim = (await import(pathToFileURL(outfile).href)) as { run(s: Scenario): Promise<Outcome> };
  const outcomes: Outcome[] = [];
  for (const s of scenarios(ctx.options.quick)) {
    const started = Date.now();
    const o = await sim.run(s);
    ctx.log(`sim "${s.name}": ${fmt(o.doCallsPerSecond)} DO calls/s, max in flight ${o.maxInFlight}/${s.limit} (${fmt((Date.now() - started) / 1000, 1)} s)`);
    outcomes.push(o);
  }
  ctx.results.limiterSim = outcomes;
  const rows = outcomes.map((o, i) => {
    const s = scenarios(ctx.options.quick)[i]!;
    const lat = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${fmt(v, 1)}`).join(", ");
    return [
      o.name,
      `${fmt(o.offeredRps)} (${fmt(o.offeredInFlight)} in flight)`,
      fmt(o.admittedRps),
      `${o.maxInFlight} / ${s.limit}`,
      fmt(o.meanInFlight),
      `${fmt(o.refusedPct, 1)}% (${fmt(o.strandedRefusedPct, 1)}%)`,
      fmt(o.unavailablePct, 1) + "%",
      `${fmt(o.doCallsPerSecond)} (${fmt(o.doUtilisation * 100)}%)`,
      fmt(o.doQueueP99Ms, 1),
      lat(o.acquireP50Ms),
      lat(o.acquireP99Ms),
    ];
  });
  return [
    "## Limiter past one Durable Object and one region (simulation: real PermitPools + ledger, virtual time, DO = 1 ms per call)",
    "",
    table(
      ["scenario", "offered req/s", "admitted req/s", "max in flight / limit", "mean in flight", "refused (of which below limit)", "503", "DO calls/s (busy)", "DO queue p99 ms", "acquire p50 ms", "acquire p99 ms"],
      rows,
    ),
  ].join("\n");
}

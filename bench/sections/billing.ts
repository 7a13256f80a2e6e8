// Billable operations per proxied request in steady state, counted (bench/counting-worker.ts
// wraps the production bundle), and the price per million requests at list prices.

import type { Counters } from "../counting-worker.ts";
import type { BenchContext } from "../lib/context.ts";
import { buildCountingBundle } from "../lib/counting.ts";
import { cpuSeconds } from "../lib/proc.ts";
import { DO_MEMORY_GB, PRICES } from "../lib/prices.ts";
import { admin, bundleAuthorizer, startAuthorizer, startBareWorker, startVm } from "../lib/stack.ts";
import { fmt, table } from "../lib/stats.ts";
import { runWrk } from "../lib/wrk.ts";

interface Snapshot {
  worker: Omit<Counters, "doAlarms" | "doD1Queries">;
  limiter: { state: { usage: { requests: number; leaseCalls: number } }; counters: { doAlarms: number; doD1Queries: number } };
}

export async function run(ctx: BenchContext): Promise<string> {
  const nowMs = Date.now();
  const t = Math.floor(nowMs / 1000);
  const vm = await startVm(nowMs);
  const production = await bundleAuthorizer();
  const counting = await startAuthorizer({ bundleDir: await buildCountingBundle(production) });
  const plain = await startAuthorizer({ bundleDir: production });
  const bare = await startBareWorker(vm.url);
  const rows: string[][] = [];
  const results: Record<string, unknown> = {};

  // CPU per request of the unwrapped authorizer and the bare Worker, for the CPU-time price.
  const cpuOf = async (url: string, pids: number[], auth?: string) => {
    const headers: Record<string, string> = auth ? { authorization: `Bearer ${auth}` } : {};
    const req = { url: `${url}/api/v1/query?query=bench_series&time=${t}`, headers };
    await runWrk(req, { connections: 16, durationSeconds: 1, tmpDir: ctx.tmpDir });
    const c0 = cpuSeconds(pids);
    const r = await runWrk(req, { connections: 16, durationSeconds: ctx.options.quick ? 2 : 5, tmpDir: ctx.tmpDir });
    return ((cpuSeconds(pids) - c0) * 1000) / r.requests; // ms per request
  };
  const plainApi = admin(plain.harness);
  const plainToken = await plainApi.createToken((await plainApi.createDeployment(vm.url)).id);
  const cpuMs = await cpuOf(plain.harness.url, plain.pids, plainToken.value);
  const bareCpuMs = await cpuOf(bare.harness.url, bare.pids);

  const api = admin(counting.harness);
  const dep = await api.createDeployment(vm.url);
  const token = await api.createToken(dep.id);
  const snap = async (): Promise<Snapshot> => (await (await counting.harness.fetch(`/__bench/counters?token=${token.id}`)).json()) as Snapshot;
  const scenarios = [
    // 65 s: usage ships at most once a minute per isolate and token (src/data/usage.ts), so the
    // window holds one sweep and the DO requests below include usage shipping.
    { name: `steady, 16 connections`, connections: 16, seconds: ctx.options.quick ? 5 : 65, gapMs: 0 },
    { name: `steady, 1 connection`, connections: 1, seconds: ctx.options.quick ? 3 : 10, gapMs: 0 },
  ];
  const req = { url: `${counting.harness.url}/api/v1/query?query=bench_series&time=${t}`, headers: { authorization: `Bearer ${token.value}` } };
  for (const s of scenarios) {
    await runWrk(req, { connections: s.connections, durationSeconds: 2, tmpDir: ctx.tmpDir }); // warm: cache filled, lease held
    const a = await snap();
    const r = await runWrk(req, { connections: s.connections, durationSeconds: s.seconds, tmpDir: ctx.tmpDir });
    // Counting refusals as "proxied" is how this section once measured nothing: every answer must
    // be the upstream's 200, and each must have cost one subrequest.
    if (r.errors > 0) throw new Error(`billing: ${r.errors} of ${r.requests} answers were not 2xx (${JSON.stringify(r.statuses)})`);
    await new Promise((ok) => setTimeout(ok, 400)); // the idle return after the last request
    const b = await snap();
    const n = b.worker.requests - a.worker.requests;
    const d = (k: keyof Snapshot["worker"]) => (b.worker[k] - a.worker[k]) / n;
    if (d("subrequests") < 1) throw new Error(`billing: ${d("subrequests")} subrequests per request: requests did not reach the upstream`);
    // The counters endpoint calls the token's object through the raw bindings: not counted.
    const perReq = {
      requests: n,
      rps: r.rps,
      kvReads: (b.worker.kvReads - a.worker.kvReads) / n,
      d1Queries: (b.worker.d1Queries - a.worker.d1Queries) / n,
      doRequests: d("doRequests"),
      doTokenRequests: d("doTokenRequests"),
      doLocationRequests: d("doLocationRequests"),
      doLocationToToken: d("doLocationToToken"),
      usageShips: b.worker.doUsageShips - a.worker.doUsageShips,
      leasesWithUsage: b.worker.leasesWithUsage - a.worker.leasesWithUsage,
      doLeaseCalls: (b.limiter.state.usage.leaseCalls - a.limiter.state.usage.leaseCalls) / n,
      doAlarms: (b.limiter.counters.doAlarms - a.limiter.counters.doAlarms) / n,
      doD1Queries: (b.limiter.counters.doD1Queries - a.limiter.counters.doD1Queries) / n,
      subrequests: (b.worker.subrequests - a.worker.subrequests) / n,
      seconds: s.seconds,
    };
    results[s.name] = perReq;
    rows.push([
      s.name,
      fmt(n),
      fmt(perReq.kvReads, 4),
      fmt(perReq.d1Queries, 4),
      `${fmt(perReq.doRequests, 5)} (${fmt((b.worker.doRequests - a.worker.doRequests) / s.seconds, 2)}/s)`,
      fmt(perReq.doTokenRequests, 5),
      fmt(perReq.doLocationRequests, 5),
      fmt(perReq.doLocationToToken, 5),
      fmt(perReq.doLeaseCalls, 5),
      `${fmt(perReq.leasesWithUsage)} / ${fmt(perReq.usageShips)}`,
      fmt(perReq.doAlarms, 5),
      fmt(perReq.doD1Queries, 5),
      fmt(perReq.subrequests, 3),
    ]);
  }

  // Price per million proxied requests, from the measured counts.
  const steady = results[scenarios[0]!.name] as { kvReads: number; d1Queries: number; doRequests: number; doAlarms: number; doD1Queries: number; rps: number };
  const priceRows: string[][] = [];
  const price = (label: string, perM: number, note: string) => priceRows.push([label, `$${perM.toFixed(4)}`, note]);
  const doReq = steady.doRequests + steady.doAlarms;
  price("Workers requests", PRICES.workerRequestPerM, "1 billed request per proxied request");
  price("Workers CPU time", cpuMs * PRICES.workerCpuMsPerM, `${cpuMs.toFixed(3)} ms/request, the whole workerd process here (an upper bound: Cloudflare bills the isolate's CPU only)`);
  price("Durable Object requests", doReq * PRICES.doRequestPerM, `${fmt(doReq, 5)} per request (every call to a token or location object, usage shipping included, + alarms)`);
  // Duration: the object stays in memory while it is called about once a second; bound it by
  // wall time, 128 MB, for the time one million requests take at the measured rate.
  const doSecondsPerM = 1e6 / steady.rps;
  price("Durable Object duration (bound)", doSecondsPerM * DO_MEMORY_GB * 1e-6 * PRICES.doGbSecondPerM * 1e6 / 1e6, `object resident for 1M requests at ${fmt(steady.rps)} req/s = ${fmt(doSecondsPerM)} s × 128 MB`);
  price("KV reads", steady.kvReads * PRICES.kvReadPerM, `${fmt(steady.kvReads, 5)} per request`);
  price("D1 (worker + DO last_used_at)", (steady.d1Queries * PRICES.d1RowsReadPerM) + steady.doD1Queries * PRICES.d1RowsWrittenPerM, `${fmt(steady.d1Queries, 5)} reads, ${fmt(steady.doD1Queries, 6)} one-row writes per request`);
  const total = priceRows.reduce((sum, r) => sum + Number(r[1]!.slice(1)), 0);
  priceRows.push(["total", `$${total.toFixed(4)}`, "per million proxied requests, steady state"]);
  // Sparse traffic: one request per idle period costs its lease call; behind a location object
  // (every pool starts there) that is two billed calls, isolate → location and location → token
  // (docs/limiter.md; counted by test/unit/permit-pool and test/worker/limiter-pool, not here).
  const sparse = PRICES.workerRequestPerM + cpuMs * PRICES.workerCpuMsPerM + 2 * PRICES.doRequestPerM;
  results.prices = { cpuMsPerRequest: cpuMs, bareCpuMsPerRequest: bareCpuMs, rows: priceRows, total, sparsePerM: sparse };
  ctx.results.billing = results;

  await Promise.all([counting.harness.stop(), plain.harness.stop(), bare.harness.stop()]);
  await vm.stop();
  return [
    "## Billable operations per proxied request (counted, instant query, one token, one isolate)",
    "",
    table(["scenario", "requests", "KV reads", "D1 queries", "DO requests (all)", "→ token object", "→ location object", "location → token", "lease calls at token object", "usage shipments: on a lease / by ship()", "DO alarms", "D1 from DO", "subrequests"], rows),
    "",
    "DO requests (all) = Worker → token object (lease, usage `ship`) + Worker → location object + location object → token object; each is billed.",
    "",
    `Price per million proxied requests at list prices (CPU: authorizer ${cpuMs.toFixed(3)} ms/request, bare Worker ${bareCpuMs.toFixed(3)} ms in the same run):`,
    "",
    table(["item", "$ / M requests", "basis"], priceRows),
    "",
    `Sparse traffic (every request after an idle period: isolate → location object → token object, two calls): $${sparse.toFixed(4)} per million plus duration.`,
  ].join("\n");
}

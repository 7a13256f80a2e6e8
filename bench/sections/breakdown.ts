// Where the authorizer's CPU per request goes beyond the bare Worker: the same source built
// six ways (bench/lib/variants.ts: a temporary copy of src/, patched; nothing in the tree changes) and measured
// against the bare Worker in the same run, instant query and query_range, 16 connections, alternating:
//   authorizer — as shipped (every query answer piped by the runtime);
//   JS relay   — every body through the JavaScript relay that exports take;
//   pipe without signal / pipe, no waitUntil — the pipe without its abort signal, or with the
//                permit released at the headers (unsafe: measurement only);
//   no relay   — the upstream body returned as is, permit released at the headers (unsafe:
//                measurement only) — the cost of holding the permit until the body ends;
//   no permit  — additionally no permit at all — the cost of the limiter's local bookkeeping.
// What remains over the bare Worker is credential, hash, cache lookup, routing policy and the
// header copies.

import { cpSync, existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "../../test/e2e/lib/processes.ts";
import { REPO_ROOT, bundleWorker } from "../../test/e2e/lib/worker.ts";
import type { BenchContext } from "../lib/context.ts";
import { cpuSeconds } from "../lib/proc.ts";
import { admin, startAuthorizer, startBareWorker, startVm } from "../lib/stack.ts";
import { fmt, median, table } from "../lib/stats.ts";
import { assertSameAnswers, instantQueryPath, QUERY_CLIENT_HEADERS, rangeQueryPath } from "../lib/queries.ts";
import { type Patch, patchTree, VARIANTS } from "../lib/variants.ts";
import { runWrk } from "../lib/wrk.ts";

function variant(name: string, patches: Patch[]): string {
  const root = makeTempDir(`variant-${name}`);
  for (const f of ["src", "migrations", "wrangler.toml", "package.json", "tsconfig.json", "worker-configuration.d.ts"]) {
    if (existsSync(join(REPO_ROOT, f))) cpSync(join(REPO_ROOT, f), join(root, f), { recursive: true });
  }
  symlinkSync(join(REPO_ROOT, "node_modules"), join(root, "node_modules"));
  patchTree(root, patches);
  mkdirSync(join(root, ".wrangler"), { recursive: true });
  return root;
}

export async function run(ctx: BenchContext): Promise<string> {
  const nowMs = Date.now();
  const t = Math.floor(nowMs / 1000);
  const vm = await startVm(nowMs);
  const bare = await startBareWorker(vm.url);
  const targets: { name: string; url: string; pids: number[]; auth?: string }[] = [{ name: "bare Worker", url: bare.harness.url, pids: bare.pids }];
  for (const spec of VARIANTS) {
    const root = spec.patches.length === 0 ? REPO_ROOT : variant(spec.name.replace(/\W+/g, "-"), spec.patches);
    const w = await startAuthorizer({ bundleDir: await bundleWorker(root) });
    const api = admin(w.harness);
    const token = await api.createToken((await api.createDeployment(vm.url)).id);
    targets.push({ name: spec.name, url: w.harness.url, pids: w.pids, auth: token.value });
  }
  const rounds = ctx.options.quick ? 1 : ctx.options.repeats;
  // Both answers come gzip-encoded and chunked (queries.ts): the instant query's is one small chunk,
  // query_range's several, the kind of answer that took the JavaScript relay before issue 12.
  const workloads = [
    { name: "instant query", path: instantQueryPath(t) },
    { name: "query_range", path: rangeQueryPath(t) },
  ];
  const headersOf = (tg: (typeof targets)[number]): Record<string, string> => ({ ...QUERY_CLIENT_HEADERS, ...(tg.auth ? { authorization: `Bearer ${tg.auth}` } : {}) });
  for (const w of workloads) {
    await assertSameAnswers(w.name, targets.map((tg) => ({ target: tg.name, url: `${tg.url}${w.path}`, init: { headers: headersOf(tg) } })));
  }
  const cpu: Record<string, number[]> = {};
  const rps: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const w of workloads) {
      for (const tg of targets) {
        const req = { url: `${tg.url}${w.path}`, headers: headersOf(tg) };
        await runWrk(req, { connections: 16, durationSeconds: 1, tmpDir: ctx.tmpDir });
        const c0 = cpuSeconds(tg.pids);
        const x = await runWrk(req, { connections: 16, durationSeconds: ctx.options.durationSeconds, tmpDir: ctx.tmpDir });
        const key = `${w.name}|${tg.name}`;
        (cpu[key] ??= []).push(((cpuSeconds(tg.pids) - c0) * 1e6) / x.requests);
        (rps[key] ??= []).push(x.rps);
      }
    }
  }
  // Differences and ratios are paired by round (same minute), then the median is taken: the
  // machine's noise moves every variant of a round together.
  const rows = workloads.flatMap((w) => {
    const base = `${w.name}|bare Worker`;
    return targets.map((tg) => {
      const key = `${w.name}|${tg.name}`;
      const ratio = median(rps[key]!.map((x, i) => x / rps[base]![i]!));
      const over = median(cpu[key]!.map((x, i) => x - cpu[base]![i]!));
      return [w.name, tg.name, fmt(median(rps[key]!)), ratio.toFixed(2), fmt(median(cpu[key]!)), `${over < 0 ? "" : "+"}${fmt(over)}`];
    });
  });
  ctx.results.breakdown = { cpu, rps };
  await vm.stop();
  return [
    `## Breakdown: workerd CPU per request over the bare Worker (16 connections, ${rounds} round${rounds > 1 ? "s" : ""}, medians)`,
    "",
    table(["workload", "variant", "req/s", "÷ bare (same round)", "CPU µs/req", "over bare (same round)"], rows),
  ].join("\n");
}

// Scale in tokens: throughput, p50 and the isolate's memory with 10, 10,000 and --max-tokens
// tokens stored in D1 and KV, the traffic on
//  - a hot set of 10 of them (what changes is only how many are stored), and
//  - all of them at random (every request likely the first of its token in this isolate:
//    a KV read, a new permit pool with its lease call, the idle return after it).
// The Worker is the production bundle wrapped only with the /__bench/kv-put seeding endpoint
// (bench/tools-worker.ts); the isolate's heap comes from the V8 inspector after a full GC.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchContext } from "../lib/context.ts";
import { buildToolsBundle } from "../lib/counting.ts";
import { startInspectableWorker } from "../lib/inspectable.ts";
import { cpuSeconds, currentRss } from "../lib/proc.ts";
import { makeTokens, seedTokens } from "../lib/seed.ts";
import { admin, bundleAuthorizer, startVm } from "../lib/stack.ts";
import { fmt, mb, median, ms, table } from "../lib/stats.ts";
import { runWrk } from "../lib/wrk.ts";
import { instantQueryPath } from "../lib/queries.ts";

export async function run(ctx: BenchContext): Promise<string> {
  const nowMs = Date.now();
  const t = Math.floor(nowMs / 1000);
  const vm = await startVm(nowMs);
  const bundleDir = await buildToolsBundle(await bundleAuthorizer());
  const counts = [10, 10_000, ctx.options.maxTokens].filter((n, i, a) => a.indexOf(n) === i);
  const rows: string[][] = [];
  const results: Record<string, unknown> = {};
  const duration = ctx.options.quick ? 3 : ctx.options.durationSeconds;
  // One Worker per size, all running at once, seeded first; then the same 10 hot tokens of each
  // are measured in rounds, alternating between the Workers, so every ratio compares runs from
  // the same minute (the machine's noise is larger than the effect looked for).
  interface Instance {
    n: number;
    worker: Awaited<ReturnType<typeof startInspectableWorker>>;
    hotFile: string;
    allFile: string;
    url: string;
    seeded: { d1Ms: number; kvMs: number };
  }
  const instances: Instance[] = [];
  for (const n of counts) {
    const worker = await startInspectableWorker(bundleDir);
    const api = admin(worker);
    const dep = await api.createDeployment(vm.url, 23);
    ctx.log(`tokens: generating and seeding ${fmt(n)}`);
    const tokens = makeTokens(n);
    const seeded = await seedTokens(worker, { id: dep.id, upstreamUrl: vm.url, concurrency: 400 }, tokens, { log: ctx.log });
    ctx.log(`tokens: seeded ${fmt(n)} (D1 ${fmt(seeded.d1Ms)} ms, KV ${fmt(seeded.kvMs)} ms)`);
    const hotFile = join(ctx.tmpDir, `hot-${n}.txt`);
    writeFileSync(hotFile, tokens.slice(0, 10).map((x) => x.secret).join("\n") + "\n");
    const allFile = join(ctx.tmpDir, `all-${n}.txt`);
    writeFileSync(allFile, tokens.map((x) => x.secret).join("\n") + "\n");
    const url = `${worker.url}${instantQueryPath(t)}`;
    instances.push({ n, worker, hotFile, allFile, url, seeded });
  }
  for (const i of instances) await settle(i.worker.pids);
  const measure = async (i: Instance, file: string) => {
    await runWrk({ url: i.url, tokensFile: file }, { connections: 16, durationSeconds: 1, tmpDir: ctx.tmpDir });
    const loaded = await runWrk({ url: i.url, tokensFile: file }, { connections: 16, durationSeconds: duration, tmpDir: ctx.tmpDir });
    const single = await runWrk({ url: i.url, tokensFile: file }, { connections: 1, durationSeconds: ctx.options.c1DurationSeconds, tmpDir: ctx.tmpDir });
    return { rps: loaded.rps, errors: loaded.errors, p50: single.latencyUs.p50, heap: await i.worker.heapUsed(), rss: currentRss(i.worker.pids) };
  };
  const rounds = ctx.options.quick ? 1 : ctx.options.repeats;
  const hot: Record<number, Awaited<ReturnType<typeof measure>>[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const i of instances) {
      const m = await measure(i, i.hotFile);
      (hot[i.n] ??= []).push(m);
      ctx.log(`tokens: round ${r + 1} ${fmt(i.n)} stored, hot 10: ${fmt(m.rps)} req/s, p50 @c1 ${ms(m.p50)}`);
    }
  }
  const base = hot[counts[0]!]!;
  for (const i of instances) {
    const h = hot[i.n]!;
    const spread = i.n > 10 ? await measure(i, i.allFile) : undefined;
    const ratio = median(h.map((m, r) => m.rps / base[r]!.rps));
    const p50Ratio = median(h.map((m, r) => m.p50 / base[r]!.p50));
    const heap = Math.max(...h.map((m) => m.heap));
    results[String(i.n)] = { seeded: i.seeded, hot: h, ratio, p50Ratio, spread };
    const err = (e: number) => (e ? ` (${fmt(e)} err)` : "");
    rows.push([
      fmt(i.n),
      `${fmt(i.seeded.d1Ms / 1000, 1)} s / ${fmt(i.seeded.kvMs / 1000, 1)} s`,
      `${fmt(median(h.map((m) => m.rps)))}${err(h.reduce((a, m) => a + m.errors, 0))}`,
      ratio.toFixed(2),
      `${ms(median(h.map((m) => m.p50)))} (${p50Ratio.toFixed(2)})`,
      mb(heap),
      spread ? fmt(spread.rps) + err(spread.errors) : "—",
      spread ? ms(spread.p50) : "—",
      spread ? mb(spread.heap) : "—",
      mb(spread?.rss ?? h[h.length - 1]!.rss),
    ]);
  }
  for (const i of instances) await i.worker.stop();
  ctx.results.tokens = results;
  await vm.stop();
  return [
    `## Tokens stored (D1 + KV): authorizer, instant query, ${duration} s at 16 connections, p50 at 1 connection, ${ctx.options.quick ? 1 : ctx.options.repeats} rounds alternating between the Workers (medians); heap = the Worker isolate's live JS heap after a full GC`,
    "",
    table(
      ["tokens stored", "seed D1 / KV", "hot 10: req/s @c16", "÷ 10 stored (same round)", "hot 10: p50 @c1 (÷ 10 stored)", "isolate heap", "all at random: req/s", "all: p50 @c1", "all: isolate heap", "workerd RSS (incl. local KV/D1/DO)"],
      rows,
    ),
  ].join("\n");
}

/** Waits (at most 60 s) until workerd is nearly idle: local KV and D1 keep working a while after a bulk seed. */
async function settle(pids: number[]): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const c0 = cpuSeconds(pids);
    await new Promise((ok) => setTimeout(ok, 1_000));
    if (cpuSeconds(pids) - c0 < 0.05) return;
  }
}

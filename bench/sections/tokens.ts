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
import { currentRss } from "../lib/proc.ts";
import { makeTokens, seedTokens } from "../lib/seed.ts";
import { admin, bundleAuthorizer, startVm } from "../lib/stack.ts";
import { fmt, mb, ms, table } from "../lib/stats.ts";
import { runWrk } from "../lib/wrk.ts";

export async function run(ctx: BenchContext): Promise<string> {
  const nowMs = Date.now();
  const t = Math.floor(nowMs / 1000);
  const vm = await startVm(nowMs);
  const bundleDir = await buildToolsBundle(await bundleAuthorizer());
  const counts = [10, 10_000, ctx.options.maxTokens].filter((n, i, a) => a.indexOf(n) === i);
  const rows: string[][] = [];
  const results: Record<string, unknown> = {};
  const duration = ctx.options.quick ? 3 : ctx.options.durationSeconds;
  for (const n of counts) {
    const worker = await startInspectableWorker(bundleDir);
    const api = admin(worker);
    const dep = await api.createDeployment(vm.url, 23);
    ctx.log(`tokens: generating and seeding ${fmt(n)}`);
    const tokens = makeTokens(n);
    const seeded = await seedTokens(worker, { id: dep.id, upstreamUrl: vm.url, concurrency: 400 }, tokens, { log: ctx.log });
    ctx.log(`tokens: seeded ${fmt(n)} (D1 ${fmt(seeded.d1Ms)} ms, KV ${fmt(seeded.kvMs)} ms)`);
    const heapIdle = await worker.heapUsed();
    const hotFile = join(ctx.tmpDir, `hot-${n}.txt`);
    writeFileSync(hotFile, tokens.slice(0, 10).map((x) => x.secret).join("\n") + "\n");
    const allFile = join(ctx.tmpDir, `all-${n}.txt`);
    writeFileSync(allFile, tokens.map((x) => x.secret).join("\n") + "\n");
    const url = `${worker.url}/api/v1/query?query=${encodeURIComponent('bench_series{series="0"}')}&time=${t}`;
    const measure = async (file: string) => {
      await runWrk({ url, tokensFile: file }, { connections: 16, durationSeconds: 1, tmpDir: ctx.tmpDir });
      const loaded = await runWrk({ url, tokensFile: file }, { connections: 16, durationSeconds: duration, tmpDir: ctx.tmpDir });
      const single = await runWrk({ url, tokensFile: file }, { connections: 1, durationSeconds: ctx.options.c1DurationSeconds, tmpDir: ctx.tmpDir });
      return { loaded, single, heap: await worker.heapUsed(), rss: currentRss(worker.pids) };
    };
    const hot = await measure(hotFile);
    const spread = n > 10 ? await measure(allFile) : undefined;
    results[String(n)] = {
      seeded,
      heapIdle,
      hot: { rps: hot.loaded.rps, p50: hot.single.latencyUs.p50, p50Loaded: hot.loaded.latencyUs.p50, errors: hot.loaded.errors, heap: hot.heap, rss: hot.rss },
      spread: spread && { rps: spread.loaded.rps, p50: spread.single.latencyUs.p50, errors: spread.loaded.errors, heap: spread.heap, rss: spread.rss },
    };
    const err = (r: { errors: number }) => (r.errors ? ` (${fmt(r.errors)} err)` : "");
    rows.push([
      fmt(n),
      `${fmt(seeded.d1Ms / 1000, 1)} s / ${fmt(seeded.kvMs / 1000, 1)} s`,
      fmt(hot.loaded.rps) + err(hot.loaded),
      ms(hot.single.latencyUs.p50),
      mb(hot.heap),
      spread ? fmt(spread.loaded.rps) + err(spread.loaded) : "—",
      spread ? ms(spread.single.latencyUs.p50) : "—",
      spread ? mb(spread.heap) : "—",
      mb(hot.rss),
    ]);
    await worker.stop();
  }
  ctx.results.tokens = results;
  await vm.stop();
  return [
    `## Tokens stored (D1 + KV): authorizer, instant query, ${duration} s at 16 connections, p50 at 1 connection; heap = the Worker isolate's live JS heap after a full GC`,
    "",
    table(
      ["tokens stored", "seed D1 / KV", "hot 10: req/s", "hot 10: p50 @c1", "hot 10: isolate heap", "all at random: req/s", "all: p50 @c1", "all: isolate heap", "workerd RSS (incl. local KV/D1/DO)"],
      rows,
    ),
  ].join("\n");
}

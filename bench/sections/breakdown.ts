// Where the authorizer's CPU per request goes beyond the bare Worker: the same source built
// six ways (from a temporary copy of src/, patched; nothing in the tree changes) and measured
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

import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "../../test/e2e/lib/processes.ts";
import { REPO_ROOT, bundleWorker } from "../../test/e2e/lib/worker.ts";
import type { BenchContext } from "../lib/context.ts";
import { cpuSeconds } from "../lib/proc.ts";
import { admin, startAuthorizer, startBareWorker, startVm } from "../lib/stack.ts";
import { fmt, median, table } from "../lib/stats.ts";
import { runWrk } from "../lib/wrk.ts";

interface Patch {
  file: string;
  find: string;
  replace: string;
}

const RELAY_LINE = 'const relayed = relay(readable, headers.get("content-length"), route.path, deadline);';
const NO_RELAY: Patch = {
  file: "src/data/forward.ts",
  find: RELAY_LINE,
  replace: "return new Response(readable, responseInit(upstream, headers));",
};
/** Every body through the JavaScript relay (the path of streamed bodies), none piped by the runtime. */
const JS_RELAY: Patch = {
  file: "src/data/forward.ts",
  find: "if ((known && length <= NATIVE_RELAY_MAX_BYTES) || !LONG_STREAM.test(path)) {",
  replace: "if (length < 0) {",
};
/** The runtime's pipe without its abort signal: what the signal costs. */
const NO_PIPE_SIGNAL: Patch = {
  file: "src/data/forward.ts",
  find: "body.pipeTo(pipe.writable, { signal: deadline.signal })",
  replace: "body.pipeTo(pipe.writable)",
};
/** The runtime's pipe, but the permit released at the headers (no waitUntil): what holding it costs. */
const NO_WAIT_UNTIL: Patch = {
  file: "src/data/forward.ts",
  find: "ctx.waitUntil(relayed.ended.finally(() => permit.release()));",
  replace: "void relayed.ended; permit.release();",
};
const NO_PERMIT: Patch = {
  file: "src/data/permit.ts",
  find: "const result = await acquirePermit(",
  replace: "if (record) return { release() {} };\n  const result = await acquirePermit(",
};

function variant(name: string, patches: Patch[]): string | undefined {
  const root = makeTempDir(`variant-${name}`);
  for (const f of ["src", "migrations", "wrangler.toml", "package.json", "tsconfig.json", "worker-configuration.d.ts"]) {
    if (existsSync(join(REPO_ROOT, f))) cpSync(join(REPO_ROOT, f), join(root, f), { recursive: true });
  }
  symlinkSync(join(REPO_ROOT, "node_modules"), join(root, "node_modules"));
  for (const p of patches) {
    const path = join(root, p.file);
    const text = readFileSync(path, "utf8");
    if (!text.includes(p.find)) return undefined; // the code moved on: skip this variant
    writeFileSync(path, text.replace(p.find, p.replace));
  }
  mkdirSync(join(root, ".wrangler"), { recursive: true });
  return root;
}

export async function run(ctx: BenchContext): Promise<string> {
  const nowMs = Date.now();
  const t = Math.floor(nowMs / 1000);
  const vm = await startVm(nowMs);
  const bare = await startBareWorker(vm.url);
  const specs: { name: string; patches: Patch[] }[] = [
    { name: "authorizer", patches: [] },
    { name: "JS relay", patches: [JS_RELAY] },
    { name: "pipe without signal", patches: [NO_PIPE_SIGNAL] },
    { name: "pipe, no waitUntil", patches: [NO_WAIT_UNTIL] },
    { name: "no relay", patches: [NO_RELAY] },
    { name: "no relay, no permit", patches: [NO_RELAY, NO_PERMIT] },
  ];
  const targets: { name: string; url: string; pids: number[]; auth?: string }[] = [{ name: "bare Worker", url: bare.harness.url, pids: bare.pids }];
  const skipped: string[] = [];
  for (const spec of specs) {
    const root = spec.patches.length === 0 ? REPO_ROOT : variant(spec.name.replace(/\W+/g, "-"), spec.patches);
    if (!root) {
      skipped.push(spec.name);
      continue;
    }
    const w = await startAuthorizer({ bundleDir: await bundleWorker(root) });
    const api = admin(w.harness);
    const token = await api.createToken((await api.createDeployment(vm.url)).id);
    targets.push({ name: spec.name, url: w.harness.url, pids: w.pids, auth: token.value });
  }
  const rounds = ctx.options.quick ? 1 : ctx.options.repeats;
  // The instant query's answer has a Content-Length; query_range's is chunked (identity: wrk sends
  // no Accept-Encoding), the kind of answer that took the JavaScript relay before issue 12.
  const workloads = [
    { name: "instant query", path: `/api/v1/query?query=${encodeURIComponent('bench_series{series="0"}')}&time=${t}` },
    { name: "query_range", path: `/api/v1/query_range?query=bench_series&start=${t - 3600}&end=${t}&step=60` },
  ];
  const cpu: Record<string, number[]> = {};
  const rps: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const w of workloads) {
      for (const tg of targets) {
        const headers: Record<string, string> = tg.auth ? { authorization: `Bearer ${tg.auth}` } : {};
        const req = { url: `${tg.url}${w.path}`, headers };
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
  ctx.results.breakdown = { cpu, rps, skipped };
  await vm.stop();
  return [
    `## Breakdown: workerd CPU per request over the bare Worker (16 connections, ${rounds} round${rounds > 1 ? "s" : ""}, medians)`,
    "",
    table(["workload", "variant", "req/s", "÷ bare (same round)", "CPU µs/req", "over bare (same round)"], rows),
    ...(skipped.length ? ["", `Skipped (patch target not found in src/): ${skipped.join(", ")}`] : []),
  ].join("\n");
}

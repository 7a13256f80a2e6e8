// The four ways to reach one VictoriaMetrics, same wrk, same requests, same run:
// direct, vmauth, the bare Worker, the authorizer. For each workload: throughput at the loaded
// concurrency, p50/p99 at concurrency 1 and loaded, proxy CPU per request (/proc utime+stime of
// the proxy's processes before/after, over the requests) and peak memory (VmHWM).

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchContext } from "../lib/context.ts";
import { cpuSeconds, peakRss } from "../lib/proc.ts";
import { importLinesBody, remoteWriteBody } from "../lib/payloads.ts";
import { admin, startAuthorizer, startBareWorker, startVm, startVmauth, type Target } from "../lib/stack.ts";
import { fmt, mb, median, ms, table } from "../lib/stats.ts";
import { assertSameAnswers, instantQueryPath, QUERY_CLIENT_HEADERS, rangeQueryPath } from "../lib/queries.ts";
import { runWrk, type WrkRequest } from "../lib/wrk.ts";

interface Workload {
  name: string;
  describe: string;
  request(base: string): WrkRequest;
}

export interface Cell {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
  cpuUsPerRequest: number;
}

type TargetName = Target["name"];
const TARGETS: TargetName[] = ["direct", "vmauth", "bare", "authorizer"];

export async function run(ctx: BenchContext): Promise<string> {
  const { options } = ctx;
  const nowMs = Date.now();
  const t = Math.floor(nowMs / 1000);

  ctx.log("starting VictoriaMetrics and seeding the query series");
  const vm = await startVm(nowMs);
  ctx.log("starting the authorizer (wrangler deploy --dry-run bundle, miniflare)");
  const authorizer = await startAuthorizer();
  const api = admin(authorizer.harness);
  const deployment = await api.createDeployment(vm.url);
  const token = await api.createToken(deployment.id);
  ctx.log("starting the bare Worker and vmauth");
  const bare = await startBareWorker(vm.url);
  const vmauth = await startVmauth([token.value], vm.url);

  const targets: Record<TargetName, Target> = {
    direct: { name: "direct", url: vm.url, pids: [] },
    vmauth: { name: "vmauth", url: vmauth.url, pids: [vmauth.pid] },
    bare: { name: "bare", url: bare.harness.url, pids: bare.pids },
    authorizer: { name: "authorizer", url: authorizer.harness.url, pids: authorizer.pids },
  };

  const rw = remoteWriteBody(nowMs);
  const rwFile = join(ctx.tmpDir, "remote-write.bin");
  writeFileSync(rwFile, rw.body);
  const imp = importLinesBody(nowMs);
  const importFile = join(ctx.tmpDir, "import.jsonl");
  writeFileSync(importFile, imp.body);
  ctx.results.payloads = {
    remoteWrite: { samples: rw.samples, protobufBytes: rw.rawBytes, snappyBytes: rw.body.length },
    import: { samples: imp.samples, bytes: imp.body.length },
  };

  const auth = { authorization: `Bearer ${token.value}` };
  const workloads: Workload[] = [
    {
      name: "instant query",
      describe: "GET /api/v1/query, one series",
      request: (base) => ({ url: `${base}${instantQueryPath(t)}`, headers: { ...auth, ...QUERY_CLIENT_HEADERS } }),
    },
    {
      name: "query_range",
      describe: "GET /api/v1/query_range, 5 series × 61 points",
      request: (base) => ({ url: `${base}${rangeQueryPath(t)}`, headers: { ...auth, ...QUERY_CLIENT_HEADERS } }),
    },
    {
      name: "remote_write",
      describe: `POST /api/v1/write, ${rw.samples} samples, ${rw.body.length} B snappy`,
      request: (base) => ({
        url: `${base}/api/v1/write`,
        method: "POST",
        bodyFile: rwFile,
        headers: {
          ...auth,
          "content-encoding": "snappy",
          "content-type": "application/x-protobuf",
          "x-prometheus-remote-write-version": "0.1.0",
        },
      }),
    },
    {
      name: "import",
      describe: `POST /api/v1/import, ${imp.samples} samples in 100 JSON lines`,
      request: (base) => ({ url: `${base}/api/v1/import`, method: "POST", bodyFile: importFile, headers: { ...auth, "content-type": "application/json" } }),
    },
  ];

  // --quick: the instant query at both levels and the remote write loaded, so it ends within a minute.
  if (options.quick) workloads.splice(0, workloads.length, ...workloads.filter((w) => w.name === "instant query" || w.name === "remote_write"));

  // Every target must answer every workload with 2xx, in the same content coding, before anything is measured.
  for (const w of workloads) {
    await assertSameAnswers(
      w.name,
      TARGETS.map((name) => {
        const req = w.request(targets[name].url);
        return { target: name, url: req.url, init: { method: req.method ?? "GET", headers: req.headers, body: req.bodyFile ? readFileSync(req.bodyFile) : undefined } };
      }),
    );
  }

  const levels = [options.concurrency, 1];
  // results[workload][target][level] = one Cell per repeat
  const cells: Record<string, Record<string, Record<number, Cell[]>>> = {};
  const repeats = options.repeats;
  for (let rep = 0; rep < repeats; rep++) {
    for (const w of workloads) {
      for (const level of levels) {
        if (options.quick && level === 1 && w.name !== "instant query") continue;
        // Rotate the order each repeat so no target always runs first (or right after a write burst).
        const order = TARGETS.map((_, i) => TARGETS[(i + rep) % TARGETS.length]!);
        for (const name of order) {
          const target = targets[name];
          const duration = level === 1 ? options.c1DurationSeconds : options.durationSeconds;
          const req = w.request(target.url);
          await runWrk(req, { connections: level, durationSeconds: options.warmupSeconds, tmpDir: ctx.tmpDir });
          const cpu0 = cpuSeconds(target.pids);
          const r = await runWrk(req, { connections: level, durationSeconds: duration, tmpDir: ctx.tmpDir });
          const cpu1 = cpuSeconds(target.pids);
          const cell: Cell = {
            rps: r.rps,
            p50: r.latencyUs.p50,
            p99: r.latencyUs.p99,
            errors: r.errors,
            requests: r.requests,
            cpuUsPerRequest: target.pids.length > 0 && r.requests > 0 ? ((cpu1 - cpu0) * 1e6) / r.requests : Number.NaN,
          };
          (((cells[w.name] ??= {})[name] ??= {})[level] ??= []).push(cell);
          ctx.log(
            `rep ${rep + 1}/${repeats} ${w.name} c=${level} ${name}: ${fmt(r.rps)} req/s p50 ${ms(r.latencyUs.p50)} p99 ${ms(r.latencyUs.p99)} cpu ${fmt(cell.cpuUsPerRequest)} µs/req${r.errors ? ` ERRORS ${r.errors}` : ""}`,
          );
        }
      }
    }
  }
  const peak: Record<TargetName, number> = {
    direct: Number.NaN,
    vmauth: peakRss(targets.vmauth.pids),
    bare: peakRss(targets.bare.pids),
    authorizer: peakRss(targets.authorizer.pids),
  };

  // Ratios are taken within one repeat (same minute, same noise), then the median over repeats.
  const hi = options.concurrency;
  const perRepeat = (w: string, f: (rep: number) => number) => median(Array.from({ length: repeats }, (_, rep) => f(rep)));
  const NO_CELL: Cell = { rps: Number.NaN, p50: Number.NaN, p99: Number.NaN, errors: 0, requests: 0, cpuUsPerRequest: Number.NaN };
  const series = (w: string, target: TargetName, level: number): Cell[] => cells[w]?.[target]?.[level] ?? [];
  const at = (w: string, target: TargetName, level: number, rep: number) => series(w, target, level)[rep] ?? NO_CELL;
  const summary = workloads.map((w) => {
    const added = (target: TargetName, rep: number) => at(w.name, target, 1, rep).p50 - at(w.name, "direct", 1, rep).p50;
    return {
      workload: w.name,
      describe: w.describe,
      authorizerOverBare: perRepeat(w.name, (rep) => at(w.name, "authorizer", hi, rep).rps / at(w.name, "bare", hi, rep).rps),
      authorizerOverVmauth: perRepeat(w.name, (rep) => at(w.name, "authorizer", hi, rep).rps / at(w.name, "vmauth", hi, rep).rps),
      addedP50c1: Object.fromEntries(TARGETS.map((n) => [n, perRepeat(w.name, (rep) => added(n, rep))])) as Record<TargetName, number>,
      addedRatioAuthorizerOverVmauth: perRepeat(w.name, (rep) => added("authorizer", rep) / added("vmauth", rep)),
      cpuRatioAuthorizerOverBare: perRepeat(w.name, (rep) => at(w.name, "authorizer", hi, rep).cpuUsPerRequest / at(w.name, "bare", hi, rep).cpuUsPerRequest),
    };
  });

  const rows: string[][] = [];
  for (const w of workloads) {
    const s = summary.find((x) => x.workload === w.name)!;
    for (const name of TARGETS) {
      const m = (level: number, f: (c: Cell) => number) => median(series(w.name, name, level).map(f));
      const errors = [hi, 1].reduce((sum, l) => sum + series(w.name, name, l).reduce((a, c) => a + c.errors, 0), 0);
      rows.push([
        w.name,
        name,
        fmt(m(hi, (c) => c.rps)) + (errors ? ` (${errors} err)` : ""),
        ms(m(hi, (c) => c.p50)),
        ms(m(hi, (c) => c.p99)),
        ms(m(1, (c) => c.p50)),
        ms(m(1, (c) => c.p99)),
        name === "direct" || !Number.isFinite(s.addedP50c1[name]) ? "—" : `+${ms(s.addedP50c1[name], 3)}`,
        fmt(m(hi, (c) => c.cpuUsPerRequest)),
        mb(peak[name]),
      ]);
    }
  }
  const header = [
    "workload",
    "target",
    `req/s @c${hi}`,
    `p50 @c${hi}`,
    `p99 @c${hi}`,
    "p50 @c1",
    "p99 @c1",
    "added p50 @c1",
    "CPU µs/req",
    "peak RSS",
  ];
  const ratioRows = summary.map((s) => [
    s.workload,
    s.authorizerOverBare.toFixed(2),
    s.authorizerOverVmauth.toFixed(2),
    Number.isFinite(s.addedRatioAuthorizerOverVmauth)
      ? `${ms(s.addedP50c1.authorizer, 3)} / ${ms(s.addedP50c1.vmauth, 3)} = ${s.addedRatioAuthorizerOverVmauth.toFixed(2)}`
      : "—",
    s.cpuRatioAuthorizerOverBare.toFixed(2),
  ]);
  ctx.results.compare = { cells, peak, summary, payloads: ctx.results.payloads };
  const instant = summary[0]!;
  ctx.results.ratiosLine = `ratios: authorizer/bare=${instant.authorizerOverBare.toFixed(2)} authorizer/vmauth=${instant.authorizerOverVmauth.toFixed(2)}`;

  await Promise.all([authorizer.harness.stop(), bare.harness.stop(), vmauth.stop()]);
  await vm.stop();

  return [
    `## Comparison (${repeats} repeat${repeats > 1 ? "s" : ""}, medians; loaded = ${hi} connections, ${options.durationSeconds} s; c1 = 1 connection, ${options.c1DurationSeconds} s; wrk -t1)`,
    "",
    table(header, rows),
    "",
    "Ratios (each taken within one repeat, then the median):",
    "",
    table(["workload", `authorizer/bare req/s @c${hi}`, `authorizer/vmauth req/s @c${hi}`, "added p50 @c1 authorizer / vmauth", "CPU/req authorizer/bare"], ratioRows),
  ].join("\n");
}

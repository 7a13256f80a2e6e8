// The first request of a fresh isolate, against the bare Worker's: each round starts a new workerd
// (through miniflare's API, as every section does) for each target in turn and times
//   start — spawn to ready (workerd boots and evaluates the Worker's top-level code);
//   1st   — the first request: for the authorizer an instant query with a token stored earlier,
//           so it also reads the token from KV and takes a lease from its Durable Object;
//   2nd   — the next request (warm isolate, token cached, permit pool filled);
// plus workerd's CPU from spawn to ready and for the first request (/proc, 10 ms ticks), and the
// isolate's own start-up CPU as `wrangler check startup` profiles it (the time V8 spent outside
// "(idle)" while workerd loaded the bundle and evaluated its top level).
// Targets: the bare Worker; the authorizer as shipped (management plane loaded on first use);
// the authorizer with the management plane imported eagerly (a patched copy of src/index.ts:
// how it was before), to show what the lazy loading saves.

import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "../../test/e2e/lib/processes.ts";
import { REPO_ROOT, bundleWorker, startWorker } from "../../test/e2e/lib/worker.ts";
import type { BenchContext } from "../lib/context.ts";
import { cpuSeconds } from "../lib/proc.ts";
import { admin, bareWorkerConfig, startAuthorizer, startBareWorker, startVm } from "../lib/stack.ts";
import { fmt, median, table } from "../lib/stats.ts";
import { instantQueryPath, QUERY_CLIENT_HEADERS } from "../lib/queries.ts";

/** The authorizer's source with the management plane imported at start-up, as before lazy loading. */
function eagerVariant(): string {
  const root = makeTempDir("variant-eager-management");
  for (const f of ["src", "migrations", "wrangler.toml", "package.json", "tsconfig.json", "worker-configuration.d.ts"]) {
    if (existsSync(join(REPO_ROOT, f))) cpSync(join(REPO_ROOT, f), join(root, f), { recursive: true });
  }
  symlinkSync(join(REPO_ROOT, "node_modules"), join(root, "node_modules"));
  const index = join(root, "src/index.ts");
  writeFileSync(index, `import "./admin";\nimport "./console";\n${readFileSync(index, "utf8")}`);
  mkdirSync(join(root, ".wrangler"), { recursive: true });
  return root;
}

/** Start-up CPU of a bundle (ms outside "(idle)" in the profile `wrangler check startup` writes). */
async function startupCpuMs(root: string, configPath: string, tmpDir: string): Promise<number> {
  const outfile = join(tmpDir, `startup-${Date.now()}-${Math.random().toString(36).slice(2)}.cpuprofile`);
  const wrangler = join(REPO_ROOT, "node_modules/wrangler/bin/wrangler.js");
  const args = [wrangler, "check", "startup", "--config", configPath, "--outfile", outfile];
  const code = await new Promise<number | null>((ok) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" },
      stdio: "ignore",
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("close", (c) => (clearTimeout(timer), ok(c)));
  });
  if (code !== 0 || !existsSync(outfile)) throw new Error(`wrangler check startup failed (exit ${code})`);
  const profile = JSON.parse(readFileSync(outfile, "utf8")) as { nodes: { id: number; callFrame: { functionName: string } }[]; samples: number[]; timeDeltas: number[] };
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    if (!idle.has(id)) busyUs += profile.timeDeltas[i] ?? 0;
  });
  return busyUs / 1000;
}

interface Sample {
  startMs: number;
  startCpuMs: number;
  firstMs: number;
  firstCpuMs: number;
  secondMs: number;
  isolateStartCpuMs: number;
}

async function timed(url: string, headers: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return performance.now() - t0;
}

export async function run(ctx: BenchContext): Promise<string> {
  const nowMs = Date.now();
  const t = Math.floor(nowMs / 1000);
  const vm = await startVm(nowMs);
  const path = instantQueryPath(t);

  // One stored token, in a state directory every authorizer start below reuses.
  const setup = await startAuthorizer();
  const api = admin(setup.harness);
  const token = await api.createToken((await api.createDeployment(vm.url)).id);
  const stateDir = setup.harness.stateDir;
  const keys = { adminApiKey: setup.harness.adminApiKey, tokenEncryptionKey: setup.harness.tokenEncryptionKey };
  await setup.harness.stop();

  const bareConfig = bareWorkerConfig();
  const eagerRoot = eagerVariant();
  const bundles = { bare: await bundleWorker(REPO_ROOT, bareConfig), shipped: await bundleWorker(REPO_ROOT), eager: await bundleWorker(eagerRoot) };
  const bundleBytes = { shipped: readFileSync(join(bundles.shipped, "index.js")).length, eager: readFileSync(join(bundles.eager, "index.js")).length };
  type Name = "bare Worker" | "authorizer" | "authorizer, management eager";
  const authorizerConfig = join(REPO_ROOT, "wrangler.toml");
  const targets: { name: Name; start: () => ReturnType<typeof startBareWorker>; root: string; config: string; auth?: string }[] = [
    { name: "bare Worker", start: () => startBareWorker(vm.url, { bundleDir: bundles.bare }), root: REPO_ROOT, config: bareConfig },
    {
      name: "authorizer",
      start: () => startAuthorizer({ bundleDir: bundles.shipped, stateDir, migrate: false, ...keys }),
      root: REPO_ROOT,
      config: authorizerConfig,
      auth: token.value,
    },
    {
      name: "authorizer, management eager",
      start: () => startAuthorizer({ bundleDir: bundles.eager, stateDir, migrate: false, ...keys }),
      root: eagerRoot,
      config: join(eagerRoot, "wrangler.toml"),
      auth: token.value,
    },
  ];
  const rounds = ctx.options.quick ? 1 : Math.max(5, ctx.options.repeats);
  const samples: Record<string, Sample[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const tg of r % 2 === 0 ? targets : [...targets].reverse()) {
      const t0 = performance.now();
      const w = await tg.start();
      const startMs = performance.now() - t0;
      const cpuReady = cpuSeconds(w.pids);
      const headers: Record<string, string> = { ...QUERY_CLIENT_HEADERS, ...(tg.auth ? { authorization: `Bearer ${tg.auth}` } : {}) };
      const firstMs = await timed(w.harness.url + path, headers);
      const firstCpuMs = (cpuSeconds(w.pids) - cpuReady) * 1000;
      const secondMs = await timed(w.harness.url + path, headers);
      await w.harness.stop();
      const isolateStartCpuMs = await startupCpuMs(tg.root, tg.config, ctx.tmpDir);
      (samples[tg.name] ??= []).push({ startMs, startCpuMs: cpuReady * 1000, firstMs, firstCpuMs, secondMs, isolateStartCpuMs });
    }
  }
  await vm.stop();
  ctx.results.coldstart = { samples, bundleBytes };
  const col = (name: string, k: keyof Sample) => median(samples[name]!.map((s) => s[k]));
  const ratio = (name: string, k: keyof Sample) => median(samples[name]!.map((s, i) => s[k] / samples["bare Worker"]![i]![k]));
  const rows = targets.map((tg) => [
    tg.name,
    `${fmt(col(tg.name, "startMs"))} ms (${ratio(tg.name, "startMs").toFixed(2)})`,
    `${fmt(col(tg.name, "startCpuMs"))} ms (${ratio(tg.name, "startCpuMs").toFixed(2)})`,
    `${col(tg.name, "firstMs").toFixed(1)} ms (${ratio(tg.name, "firstMs").toFixed(2)})`,
    `${fmt(col(tg.name, "firstCpuMs"))} ms`,
    `${col(tg.name, "secondMs").toFixed(1)} ms`,
    `${col(tg.name, "isolateStartCpuMs").toFixed(1)} ms (${ratio(tg.name, "isolateStartCpuMs").toFixed(2)})`,
  ]);
  return [
    `## Cold start: a fresh workerd per target and round (${rounds} rounds, medians; in brackets ÷ bare Worker, same round)`,
    "",
    table(["target", "spawn → ready", "workerd CPU to ready", "1st request", "workerd CPU, 1st request", "2nd request", "isolate start-up CPU"], rows),
    "",
    `Bundle: ${fmt(bundleBytes.shipped / 1024)} KiB as shipped, ${fmt(bundleBytes.eager / 1024)} KiB with the eager import (same code; only when it runs differs).`,
  ].join("\n");
}

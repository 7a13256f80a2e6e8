// Where the authorizer's CPU goes: runs the production bundle in workerd with an inspector
// (bench/lib/inspectable.ts), drives one workload with wrk at 16 connections, records a V8 CPU
// profile of the Worker's isolate and prints self time by function. Not part of `npm run bench`:
//
//   node bench/profile.ts [instant|remote_write] [seconds]
//
// The profile also covers the Durable Object, which shares the isolate locally. The raw profile
// is written to bench/results/profile.cpuprofile (open it in Chrome DevTools).
process.env.E2E_MAX_PROCESS_SECONDS ??= "600";

const { mkdirSync, writeFileSync } = await import("node:fs");
const { join } = await import("node:path");
const { makeTempDir, stopAll, cleanupTempRoot } = await import("../test/e2e/lib/processes.ts");
const { REPO_ROOT } = await import("../test/e2e/lib/worker.ts");
const { admin, bundleAuthorizer, startVm } = await import("./lib/stack.ts");
const { startInspectableWorker } = await import("./lib/inspectable.ts");
const { remoteWriteBody } = await import("./lib/payloads.ts");
const { instantQueryPath, QUERY_CLIENT_HEADERS } = await import("./lib/queries.ts");
const { runWrk } = await import("./lib/wrk.ts");

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const workload = process.argv[2] ?? "instant";
const seconds = Number(process.argv[3] ?? 5);
const nowMs = Date.now();
const tmp = makeTempDir("profile");
try {
  const vm = await startVm(nowMs);
  const worker = await startInspectableWorker(await bundleAuthorizer());
  const api = admin(worker);
  const token = await api.createToken((await api.createDeployment(vm.url)).id);
  const auth = { authorization: `Bearer ${token.value}` };
  const rwFile = join(tmp, "rw.bin");
  writeFileSync(rwFile, remoteWriteBody(nowMs).body);
  const req =
    workload === "remote_write"
      ? { url: `${worker.url}/api/v1/write`, method: "POST" as const, bodyFile: rwFile, headers: { ...auth, "content-encoding": "snappy" } }
      : { url: `${worker.url}${instantQueryPath(Math.floor(nowMs / 1000))}`, headers: { ...auth, ...QUERY_CLIENT_HEADERS } };
  await runWrk(req, { connections: 16, durationSeconds: 2, tmpDir: tmp }); // warm up
  await worker.inspect("Profiler.enable");
  await worker.inspect("Profiler.setSamplingInterval", { interval: 100 });
  await worker.inspect("Profiler.start");
  const r = await runWrk(req, { connections: 16, durationSeconds: seconds, tmpDir: tmp });
  const { profile } = await worker.inspect<{ profile: { nodes: ProfileNode[] } }>("Profiler.stop");
  mkdirSync(join(REPO_ROOT, "bench/results"), { recursive: true });
  writeFileSync(join(REPO_ROOT, "bench/results/profile.cpuprofile"), JSON.stringify(profile));
  const self = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    total += hits;
    const f = n.callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + hits);
  }
  console.log(`${r.requests} requests, ${r.rps.toFixed(0)} req/s, ${total} samples; self time:`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
  await worker.stop();
} finally {
  await stopAll(2_000);
  cleanupTempRoot();
}

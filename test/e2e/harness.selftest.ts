// Self-test of the end-to-end harness: each piece on its own, no Worker in the data path yet.
// Run alone: npm run test:e2e -- test/e2e/harness.selftest.ts (docs/e2e.md).
//
// - VictoriaMetrics: import, query back, survive a restart.
// - vmagent scraping a known target and writing straight to VictoriaMetrics: every served
//   sample arrives, also across an outage of VictoriaMetrics.
// - Prometheus agent, vmalert: same, briefly.
// - Recording upstream: what a real client sends, and each misbehaviour.
// - The Worker in workerd via miniflare: answers, keeps KV/D1 state across a restart.

import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupTempRoot,
  fetchWithTimeout,
  sleep,
  startPrometheusAgent,
  startVictoriaMetrics,
  startVmagent,
  startVmalert,
  stopAll,
  waitFor,
  type VictoriaMetrics,
  type Vmagent,
} from "./lib/processes.ts";
import { startRecordingUpstream, type RecordingUpstream } from "./lib/recording-upstream.ts";
import { startSampleTarget, type SampleTarget } from "./lib/sample-target.ts";
import { exportSeries, forceFlush, importPrometheus, waitForQuery, waitForSamples } from "./lib/vm-api.ts";
import { REPO_ROOT, startWorker, stopAllWorkers, type WorkerHarness } from "./lib/worker.ts";

const run = randomBytes(4).toString("hex"); // keeps this run's series apart from any other
let vm: VictoriaMetrics;
const targets: SampleTarget[] = [];

beforeAll(async () => {
  vm = await startVictoriaMetrics();
});

let failed = false;
afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  await Promise.all(targets.map((t) => t.stop()));
  await stopAllWorkers();
  await stopAll();
  cleanupTempRoot(failed); // logs and data stay for a failed run
});

describe("VictoriaMetrics", () => {
  const now = Date.now();
  const lines = [0, 1, 2].map((i) => `e2e_import_probe{run="${run}"} ${10 + i} ${now - 2000 + i * 1000}`).join("\n");

  it("stores pushed samples and answers export and query", async () => {
    await importPrometheus(vm.url, lines);
    const series = await waitForSamples(vm.url, `e2e_import_probe{run="${run}"}`, 3, { vmUrl: vm.url });
    expect(series).toHaveLength(1);
    expect(series[0]!.values).toEqual([10, 11, 12]);
    expect(series[0]!.timestamps).toEqual([now - 2000, now - 1000, now]);
    // The query path may lag the export path by about a second: poll it too.
    const instant = await waitForQuery(vm.url, `e2e_import_probe{run="${run}"}`, (r) => r[0]?.value[1] === "12");
    expect(instant).toHaveLength(1);
  });

  it("keeps them across a restart on the same port", async () => {
    await vm.restart();
    const series = await exportSeries(vm.url, `e2e_import_probe{run="${run}"}`);
    expect(series[0]?.values).toEqual([10, 11, 12]);
  });
});

describe("vmagent scraping a known target into VictoriaMetrics", () => {
  let target: SampleTarget;
  let agent: Vmagent;

  it("delivers every served sample exactly once", async () => {
    target = await startSampleTarget({ series: 3, labels: { run, client: "vmagent" } });
    targets.push(target);
    agent = await startVmagent({
      remoteWriteUrl: `${vm.url}/api/v1/write`,
      bearerToken: "not-checked-by-victoria-metrics",
      scrapeTargets: [target.address],
    });
    await target.waitForScrapes(4);
    target.pause();
    const expected = target.expectedSamples();
    const exported = await waitForSamples(vm.url, target.selector, expected, { vmUrl: vm.url });
    expect(target.compare(exported)).toEqual({ missing: [], duplicated: [], unexpected: [] });
    const stats = await agent.waitForDrained();
    expect(stats.packetsDropped).toBe(0);
    expect(stats.requestsByStatus["2XX"]).toBeGreaterThan(0);
  });

  it("loses nothing while VictoriaMetrics is down, across a vmagent restart", async () => {
    await vm.stop();
    const before = target.served().length;
    target.resume();
    await target.waitForScrapes(before + 2);
    target.pause();
    await waitFor(async () => (await agent.remoteWriteStats()).errors > 0, { what: "a failed send" });
    await agent.restart(); // graceful: unsent blocks go to the persistent queue on disk
    await vm.restart();
    // vmagent 1.79.5 backs off 2s, 4s, 8s… (not configurable): allow for the third retry.
    const exported = await waitForSamples(vm.url, target.selector, target.expectedSamples(), {
      vmUrl: vm.url,
      timeoutMs: 25_000,
    });
    expect(target.compare(exported).missing).toEqual([]);
    expect(target.compare(exported).unexpected).toEqual([]);
  }, 40_000);
});

describe("Prometheus 2.42 in agent mode into VictoriaMetrics", () => {
  it("delivers every served sample", async () => {
    const target = await startSampleTarget({ metric: "e2e_prom_sample_total", series: 2, labels: { run } });
    targets.push(target);
    const agent = await startPrometheusAgent({
      remoteWriteUrl: `${vm.url}/api/v1/write`,
      bearerToken: "not-checked-by-victoria-metrics",
      scrapeTargets: [target.address],
    });
    await target.waitForScrapes(3);
    target.pause();
    const exported = await waitForSamples(vm.url, target.selector, target.expectedSamples(), { vmUrl: vm.url });
    expect(target.compare(exported)).toEqual({ missing: [], duplicated: [], unexpected: [] });
    const stats = await agent.remoteWriteStats();
    expect(stats.samplesFailed).toBe(0);
    expect(stats.samplesDropped).toBe(0);
  });
});

describe("vmalert recording rules against VictoriaMetrics", () => {
  it("reads through the datasource and writes the result back", async () => {
    await startVmalert({
      datasourceUrl: vm.url,
      remoteWriteUrl: vm.url,
      bearerToken: "not-checked-by-victoria-metrics",
      rules: [
        "groups:",
        "  - name: e2e",
        "    interval: 1s",
        "    rules:",
        "      - record: e2e:import_probe:max",
        `        expr: max(e2e_import_probe{run="${run}"})`,
        `        labels: { run: "${run}" }`,
      ].join("\n"),
    });
    const series = await waitForSamples(vm.url, `e2e:import_probe:max{run="${run}"}`, 1, { vmUrl: vm.url });
    expect(series[0]!.values[0]).toBe(12);
  });
});

describe("recording upstream", () => {
  let upstream: RecordingUpstream;

  beforeAll(async () => {
    upstream = await startRecordingUpstream({ keepBodies: true });
  });
  afterAll(async () => {
    await upstream.stop();
  });

  it("records what vmagent sends to a cluster insert path, without the credential", async () => {
    const target = await startSampleTarget({ series: 1, labels: { run, client: "vmagent-cluster" } });
    targets.push(target);
    const agent = await startVmagent({
      remoteWriteUrl: `${upstream.url}/insert/42/prometheus/api/v1/write`,
      bearerToken: "s3cret-token-value",
      scrapeTargets: [target.address],
    });
    const [first] = await upstream.waitForRequests(1);
    await agent.stop();
    expect(first).toMatchObject({
      method: "POST",
      path: "/insert/42/prometheus/api/v1/write",
      authorization: "present",
      authorizationScheme: "Bearer",
      contentEncoding: "snappy",
      contentType: "application/x-protobuf",
      outcome: "answered",
      status: 204,
    });
    expect(first!.bodyBytes).toBeGreaterThan(0);
    expect(first!.body?.length).toBe(first!.bodyBytes);
    expect(JSON.stringify(upstream.requests())).not.toContain("s3cret");
  });

  it("answers reads with a valid Prometheus JSON", async () => {
    const res = await fetchWithTimeout(`${upstream.url}/select/0/prometheus/api/v1/query?query=up`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "success", data: { resultType: "vector", result: [] } });
    expect(upstream.requests().at(-1)).toMatchObject({ method: "GET", query: "query=up", authorization: "absent" });
  });

  it("misbehaves on demand: status, hang, reset, refuse", async () => {
    upstream.setBehaviour({ kind: "status", status: 503, body: "busy" });
    const busy = await fetchWithTimeout(`${upstream.url}/insert/0/prometheus/api/v1/write`, { method: "POST", body: "x" });
    expect([busy.status, await busy.text()]).toEqual([503, "busy"]);

    upstream.setBehaviour({ kind: "hang" });
    await expect(fetchWithTimeout(`${upstream.url}/insert/0/x`, { method: "POST", body: "x" }, 300)).rejects.toThrow();
    const held = fetchWithTimeout(`${upstream.url}/insert/0/y`, { method: "POST", body: "y" }, 5_000);
    await waitFor(() => upstream.requests().find((r) => r.path === "/insert/0/y" && r.outcome === "hung"), {
      timeoutMs: 2_000,
      what: "the second request to hang",
    });
    expect(upstream.requests().find((r) => r.path === "/insert/0/x")?.outcome).toBe("aborted");
    expect(upstream.hanging()).toBe(1);
    upstream.release(202);
    expect((await held).status).toBe(202);

    upstream.setBehaviour({ kind: "reset" });
    await expect(fetchWithTimeout(`${upstream.url}/insert/0/z`, { method: "POST", body: "z" })).rejects.toThrow();

    upstream.setBehaviour({ kind: "default" });
    await upstream.refuse();
    await expect(fetchWithTimeout(`${upstream.url}/select/0/prometheus/api/v1/labels`)).rejects.toThrow();
    await upstream.accept();
    const back = await fetchWithTimeout(`${upstream.url}/select/0/prometheus/api/v1/labels`);
    expect(await back.json()).toEqual({ status: "success", data: [] });
  });
});

describe("the Worker in workerd via miniflare", () => {
  let worker: WorkerHarness;
  const migrations = readdirSync(join(REPO_ROOT, "migrations")).filter((f) => f.endsWith(".sql")).sort();

  it("starts on loopback with migrations applied and answers an unknown path itself", async () => {
    worker = await startWorker();
    expect(await worker.appliedMigrations()).toEqual(migrations);
    const res = await worker.fetch(`/e2e-harness-unknown-${run}`);
    // No credential on a path that is no VictoriaMetrics API: the Worker refuses it (401 or 404
    // depending on which check runs first), and never with a 5xx.
    expect([401, 404]).toContain(res.status);
    expect((await res.text()).length).toBeGreaterThan(0);
  }, 60_000);

  it("keeps KV and D1 state across a restart on the same port", async () => {
    await (await worker.kv()).put(`e2e:${run}`, "kept");
    const db = await worker.d1();
    await db.prepare("CREATE TABLE IF NOT EXISTS e2e_harness_probe (run TEXT PRIMARY KEY)").run();
    await db.prepare("INSERT INTO e2e_harness_probe (run) VALUES (?)").bind(run).run();

    await worker.restart();

    expect(await (await worker.kv()).get(`e2e:${run}`)).toBe("kept");
    const row = await (await worker.d1()).prepare("SELECT run FROM e2e_harness_probe WHERE run = ?").bind(run).first();
    expect(row).toEqual({ run });
    expect(await worker.appliedMigrations()).toEqual(migrations); // none applied twice
    const res = await worker.fetch(`/e2e-harness-unknown-${run}`);
    expect([401, 404]).toContain(res.status);
    await res.body?.cancel();
    await worker.stop();
    await expect(fetchWithTimeout(`${worker.url}/`, {}, 2_000)).rejects.toThrow();
  }, 60_000);
});

// Keep the direct-to-VictoriaMetrics helper honest: a flush on a stopped process must fail fast.
describe("bounded waits", () => {
  it("fails fast against a stopped component", async () => {
    const other = await startVictoriaMetrics();
    await other.stop();
    await expect(forceFlush(other.url)).rejects.toThrow();
  });
});

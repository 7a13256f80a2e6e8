// Real clients end to end through the Worker in workerd, with nothing lost.
//
// One VictoriaMetrics single-node (the upstream), one Worker, two recording upstreams standing in
// for vminsert and vmselect; real vmagent, Prometheus (agent mode) and vmalert, and Grafana's
// Prometheus data-source calls made over HTTP. Each client talks to the Worker through its own
// counting tap (lib/client-tap.ts), which forwards bytes unchanged and records what the client
// saw. What it shows, in the order of the issue:
//   1. every client works unchanged with the URL shapes of single-node and cluster deployments,
//      and on a cluster the exact paths and tenants arrive at vminsert/vmselect;
//   2. access levels hold for real clients;
//   3. no sample is lost while the suite injects 429s, an upstream outage, a Worker restart and
//      a revoke-and-replace of the token;
//   4. a revoked token is refused at its next request (latency measured).
// The afterAll prints a summary table and writes it to test-results/e2e-summary.md.
// Run alone: npm run test:e2e -- test/e2e/real-clients.e2e.ts (docs/e2e.md).

import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startClientTap, type ClientTap, type TappedRequest } from "./lib/client-tap.ts";
import { runGrafanaCalls, type GrafanaAnswer, type GrafanaOptions } from "./lib/grafana.ts";
import { managementClient, type Deployment, type Management, type Tier } from "./lib/management.ts";
import { holdPermits } from "./lib/permit-hog.ts";
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
  type Component,
  type VictoriaMetrics,
} from "./lib/processes.ts";
import { parsePromText } from "./lib/prom-text.ts";
import { startRecordingUpstream, type RecordedRequest, type RecordingUpstream } from "./lib/recording-upstream.ts";
import { compareWritten, decodeRemoteWrite, sampleKey, toExported } from "./lib/remote-write.ts";
import { measureRevocation } from "./lib/revocation.ts";
import { startSampleTarget, type SampleTarget } from "./lib/sample-target.ts";
import { Summary } from "./lib/summary.ts";
import { countSamples, exportSeries, waitForQuery, waitForSamples } from "./lib/vm-api.ts";
import { REPO_ROOT, startWorker, stopAllWorkers, type WorkerHarness } from "./lib/worker.ts";

const run = randomBytes(4).toString("hex"); // this run's series, apart from any other
const summary = new Summary();
const SUMMARY_FILE = join(REPO_ROOT, "test-results", "e2e-summary.md");

let vm: VictoriaMetrics;
let worker: WorkerHarness;
let admin: Management;
let singleTier: Tier;
let clusterTier: Tier;
const stoppers: (() => Promise<void>)[] = []; // targets, taps, recording upstreams

beforeAll(async () => {
  [vm, worker] = await Promise.all([startVictoriaMetrics(), startWorker()]);
  admin = managementClient(worker);
  [singleTier, clusterTier] = await Promise.all([admin.smallestTier("single_node"), admin.smallestTier("cluster")]);
}, 90_000);

let failed = false;
afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  await Promise.all(stoppers.map((s) => s().catch(() => undefined)));
  await stopAllWorkers();
  await stopAll();
  const text = summary.write(SUMMARY_FILE, `End-to-end summary (run ${run})`);
  console.log(`\n${text}\nwritten to ${SUMMARY_FILE}`);
  cleanupTempRoot(failed);
}, 60_000);

// ---------------------------------------------------------------------------------------------
// Fixtures

async function target(metric: string, labels: Record<string, string>, series = 3): Promise<SampleTarget> {
  const t = await startSampleTarget({ metric, series, labels: { run, ...labels } });
  stoppers.push(() => t.stop());
  return t;
}

/** A tap in front of the Worker that counts the samples of the given metrics. */
async function tap(metrics?: string[]): Promise<ClientTap> {
  const t = await startClientTap({
    target: worker.url,
    countSamples: (s) => s.labels.run === run && (metrics === undefined || metrics.includes(s.labels.__name__ ?? "")),
  });
  stoppers.push(() => t.stop());
  return t;
}

async function singleNode(name: string): Promise<Deployment> {
  return admin.createDeployment({ name: `e2e ${name} ${run}`, type: "single_node", tier: singleTier.id, upstream_url: vm.url });
}

/** The samples of `selector` in VictoriaMetrics, asked directly (not through the Worker), once `expected` are there. */
async function vmExport(selector: string, expected: number, timeoutMs = 20_000) {
  return waitForSamples(vm.url, selector, expected, { vmUrl: vm.url, timeoutMs });
}

/** Served vs found for a sample target, against export-shaped series. */
function tally(t: SampleTarget, exported: Parameters<SampleTarget["compare"]>[0]) {
  const c = t.compare(exported);
  const sent = t.expectedSamples();
  const found = sent - c.missing.length;
  const raw = countSamples(exported.filter((s) => s.metric.__name__ === t.metric));
  return { sent, found, duplicates: raw - found - c.unexpected.length, ...c };
}

const is2xx = (s: TappedRequest["status"]) => typeof s === "number" && s >= 200 && s < 300;

async function stopAfter<T>(components: Component[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await Promise.all(components.map((c) => c.stop()));
  }
}

// ---------------------------------------------------------------------------------------------
// 1. URL shapes — single-node

describe("single-node deployment: every client unchanged, URL shapes of the seed", () => {
  it("vmagent and Prometheus write /api/v1/write, vmalert reads and writes back, Grafana reads", async () => {
    const dep = await singleNode("single");
    const [w, r, rw] = await Promise.all([
      admin.createToken(dep.id, { type: "w", description: "agents" }),
      admin.createToken(dep.id, { type: "r", description: "grafana" }),
      admin.createToken(dep.id, { type: "rw", description: "vmalert" }),
    ]);
    const [vmagentTarget, promTarget] = await Promise.all([
      target("e2e_vmagent_sample_total", { scenario: "single" }),
      target("e2e_prom_sample_total", { scenario: "single" }),
    ]);
    const [vmagentTap, promTap, vmalertTap, grafanaTap] = await Promise.all([
      tap([vmagentTarget.metric]),
      tap([promTarget.metric]),
      tap(["e2e:vmagent_sample:max"]),
      tap(),
    ]);
    const agents = await Promise.all([
      startVmagent({ remoteWriteUrl: `${vmagentTap.url}/api/v1/write`, bearerToken: w.value, scrapeTargets: [vmagentTarget.address] }),
      startPrometheusAgent({ remoteWriteUrl: `${promTap.url}/api/v1/write`, bearerToken: w.value, scrapeTargets: [promTarget.address] }),
    ]);
    await stopAfter(agents, async () => {
      await Promise.all([vmagentTarget.waitForScrapes(4), promTarget.waitForScrapes(4)]);
      vmagentTarget.pause();
      promTarget.pause();
      for (const [client, t, tp] of [
        ["vmagent", vmagentTarget, vmagentTap],
        ["Prometheus agent", promTarget, promTap],
      ] as const) {
        const exported = await vmExport(t.selector, t.expectedSamples());
        const s = tally(t, exported);
        const stats = tp.stats();
        summary.add({
          client,
          scenario: "single-node, w token, /api/v1/write",
          requests: stats.requests,
          refusals: stats.refusals,
          samplesSent: s.sent,
          samplesAccepted: stats.samplesAccepted,
          samplesFound: s.found,
          duplicates: s.duplicates,
          result: s.missing.length === 0 ? "all samples stored" : `${s.missing.length} missing`,
        });
        expect(s.missing, `${client}: samples missing`).toEqual([]);
        expect(s.unexpected).toEqual([]);
        expect(stats.refusals).toEqual({});
        expect(new Set(tp.requests().map((q) => `${q.method} ${q.url}`))).toEqual(new Set(["POST /api/v1/write"]));
      }
    });

    // vmalert: reads vmagent's data through the Worker, writes the recording rule's result back.
    // VictoriaMetrics' query path lags its export path by up to a second: wait for the last value.
    const lastSeq = vmagentTarget.served().length;
    await waitForQuery(vm.url, `max(${vmagentTarget.selector})`, (res) => res[0]?.value[1] === String(lastSeq));
    const vmalert = await startVmalert({
      datasourceUrl: vmalertTap.url,
      remoteWriteUrl: vmalertTap.url,
      bearerToken: rw.value,
      rules: recordingRule("e2e:vmagent_sample:max", `max(e2e_vmagent_sample_total{run="${run}",scenario="single"})`),
    });
    await stopAfter([vmalert], () =>
      waitFor(() => vmalertTap.stats().samplesAccepted >= 2, { timeoutMs: 15_000, what: "two recording-rule results accepted" }),
    );
    const written = vmalertTap.acceptedSamples();
    const found = await vmExport(`e2e:vmagent_sample:max{run="${run}"}`, new Set(written.map((s) => s.timestampMs)).size);
    const cmp = compareWritten(written, found);
    const vmalertStats = vmalertTap.stats();
    summary.add({
      client: "vmalert",
      scenario: "single-node, rw token, reads /api/v1/query, writes /api/v1/write",
      requests: vmalertStats.requests,
      refusals: vmalertStats.refusals,
      samplesSent: cmp.distinct,
      samplesAccepted: vmalertStats.samplesAccepted,
      samplesFound: cmp.found,
      duplicates: cmp.duplicates,
      result: `rule result = ${written[0]?.value} (vmagent's last value ${lastSeq})`,
    });
    expect(cmp.missing).toEqual([]);
    expect(written.every((s) => s.value === lastSeq)).toBe(true);
    expect(vmalertStats.refusals).toEqual({});
    const paths = new Set(vmalertTap.requests().map((q) => `${q.method} ${q.url.split("?")[0]}`));
    expect(paths).toEqual(new Set(["POST /api/v1/query", "POST /api/v1/write"])); // vmalert 1.79.5 POSTs its queries

    // Grafana's data-source calls with the read token, in both HTTP-method settings.
    const answers: GrafanaAnswer[] = [];
    for (const httpMethod of ["POST", "GET"] as const) {
      answers.push(
        ...(await runGrafanaCalls({
          baseUrl: grafanaTap.url,
          token: r.value,
          httpMethod,
          selector: vmagentTarget.selector,
          labelName: "scenario",
        })),
      );
    }
    const g = grafanaTap.stats();
    summary.add({
      client: "Grafana data source",
      scenario: "single-node, r token, 7 calls × POST/GET settings",
      requests: g.requests,
      refusals: g.refusals,
      result: answers.every((a) => a.status === 200) ? "all 200, data as written" : "failed",
    });
    expect(answers.map((a) => `${a.name} ${a.method} ${a.status}`)).toEqual(answers.map((a) => `${a.name} ${a.method} 200`));
    const byName = (name: string, method: string) => answers.find((a) => a.name === name && a.method === method)!.json as PromAnswer;
    for (const m of ["POST", "GET"]) {
      const q = byName("query", m).data as { result: { value: [number, string] }[] };
      expect(q.result.map((x) => x.value[1])).toEqual(Array(3).fill(String(lastSeq)));
      const range = byName("query_range", m).data as { result: unknown[] };
      expect(range.result).toHaveLength(3);
      expect(byName("labels", m).data).toEqual(expect.arrayContaining(["run", "scenario", "series"]));
      expect(byName("series", m).data).toHaveLength(3);
    }
    expect(byName("label values", "GET").data).toContain("single");
    expect(byName("buildinfo", "GET").status).toBe("success");
    expect(byName("metadata", "GET").status).toBe("success");
  }, 90_000);
});

interface PromAnswer {
  status: string;
  data: unknown;
}

function recordingRule(record: string, expr: string, labels: Record<string, string> = {}): string {
  return [
    "groups:",
    "  - name: e2e",
    "    interval: 1s",
    "    rules:",
    `      - record: ${JSON.stringify(record)}`,
    `        expr: ${JSON.stringify(expr)}`,
    `        labels: ${JSON.stringify({ run, ...labels })}`,
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// 1. URL shapes — cluster, against recording vminsert / vmselect

describe("cluster deployment: exact paths and tenants at vminsert and vmselect", () => {
  let insert: RecordingUpstream;
  let select: RecordingUpstream;
  let dep: Deployment;

  beforeAll(async () => {
    [insert, select] = await Promise.all([startRecordingUpstream({ keepBodies: true }), startRecordingUpstream({ keepBodies: true })]);
    stoppers.push(() => insert.stop(), () => select.stop());
    // vmselect answers instant queries with one sample, so vmalert's recording rule has a result to write.
    select.setBehaviour((req) =>
      /\/api\/v1\/query$/.test(req.path)
        ? {
            kind: "status",
            status: 200,
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              status: "success",
              data: { resultType: "vector", result: [{ metric: { __name__: "e2e_cluster_input" }, value: [Date.now() / 1000, "42"] }] },
            }),
          }
        : { kind: "default" },
    );
    dep = await admin.createDeployment({ name: `e2e cluster ${run}`, type: "cluster", tier: clusterTier.id, insert_url: insert.url, select_url: select.url });
  });

  // Regular token: the client names the tenant; tenant-specific token: the Worker adds it.
  const shapes = [
    { kind: "regular token", tenant: "7", tokenTenant: undefined, write: "/insert/7/prometheus", read: "/select/7/prometheus" },
    { kind: "tenant-specific token", tenant: "12:34", tokenTenant: "12:34", write: "/prometheus", read: "/prometheus" },
  ] as const;

  for (const shape of shapes) {
    it(`${shape.kind}: vmagent, Prometheus, vmalert and Grafana reach tenant ${shape.tenant}`, async () => {
      const tenant = shape.tokenTenant === undefined ? {} : { tenant_id: shape.tokenTenant };
      const [w, r, rw] = await Promise.all([
        admin.createToken(dep.id, { type: "w", description: `agents ${shape.kind}`, ...tenant }),
        admin.createToken(dep.id, { type: "r", description: `grafana ${shape.kind}`, ...tenant }),
        admin.createToken(dep.id, { type: "rw", description: `vmalert ${shape.kind}`, ...tenant }),
      ]);
      const scenario = shape.tokenTenant === undefined ? "cluster-regular" : "cluster-tenant";
      const [vmagentTarget, promTarget] = await Promise.all([
        target("e2e_vmagent_sample_total", { scenario }),
        target("e2e_prom_sample_total", { scenario }),
      ]);
      const [vmagentTap, promTap, vmalertTap, grafanaTap] = await Promise.all([tap(), tap(), tap(), tap()]);
      const writePath = `${shape.write}/api/v1/write`;
      const insertPath = `/insert/${shape.tenant}/prometheus/api/v1/write`;
      const selectBase = `/select/${shape.tenant}/prometheus`;

      const clients = await Promise.all([
        startVmagent({ remoteWriteUrl: `${vmagentTap.url}${writePath}`, bearerToken: w.value, scrapeTargets: [vmagentTarget.address] }),
        startPrometheusAgent({ remoteWriteUrl: `${promTap.url}${writePath}`, bearerToken: w.value, scrapeTargets: [promTarget.address] }),
        startVmalert({
          datasourceUrl: `${vmalertTap.url}${shape.read}`,
          remoteWriteUrl: `${vmalertTap.url}${shape.write}`,
          bearerToken: rw.value,
          rules: recordingRule("e2e:cluster_probe", "e2e_cluster_input", { scenario }),
        }),
      ]);
      await stopAfter(clients, async () => {
        await Promise.all([
          vmagentTarget.waitForScrapes(3),
          promTarget.waitForScrapes(3),
          waitFor(() => vmalertTap.stats().samplesAccepted >= 2, { timeoutMs: 15_000, what: "vmalert results accepted" }),
        ]);
        vmagentTarget.pause();
        promTarget.pause();
        for (const [t, tp] of [
          [vmagentTarget, vmagentTap],
          [promTarget, promTap],
        ] as const) {
          await waitFor(() => tp.stats().samplesAccepted >= t.expectedSamples(), { timeoutMs: 15_000, what: `${t.metric} accepted` });
        }
      });
      const grafanaAnswers = [
        ...(await runGrafanaCalls(grafanaOpts(grafanaTap.url + shape.read, r.value, "POST", vmagentTarget.selector))),
        ...(await runGrafanaCalls(grafanaOpts(grafanaTap.url + shape.read, r.value, "GET", vmagentTarget.selector))),
      ];
      expect(grafanaAnswers.map((a) => `${a.name} ${a.status}`)).toEqual(grafanaAnswers.map((a) => `${a.name} 200`));

      // Every request each client saw answered 2xx arrived exactly once, at the right component,
      // on the exact path of the tenant, with query string and body byte for byte, without the
      // client's Authorization.
      const expectPath = (tapPath: string) => {
        const rest = tapPath.slice(tapPath.startsWith(shape.write) ? shape.write.length : shape.read.length);
        return rest === "/api/v1/write" ? insertPath : `${selectBase}${rest}`;
      };
      const rows: [string, ClientTap, SampleTarget | undefined][] = [
        ["vmagent", vmagentTap, vmagentTarget],
        ["Prometheus agent", promTap, promTarget],
        ["vmalert", vmalertTap, undefined],
        ["Grafana data source", grafanaTap, undefined],
      ];
      const unmatched = [...insert.requests(), ...select.requests()].filter((u) => u.path.includes(`/${shape.tenant}/`));
      for (const [client, tp, t] of rows) {
        const arrived: RecordedRequest[] = [];
        for (const q of tp.requests()) {
          const [path = "", query = ""] = q.url.split(/\?(.*)/s);
          const want = expectPath(path);
          const i = unmatched.findIndex((u) => u.method === q.method && u.path === want && u.query === query && u.bodySha256 === q.bodySha256);
          // A request the client gave up on (it was being stopped) may or may not have arrived.
          if (!is2xx(q.status) && i < 0) continue;
          expect(i, `${client}: ${q.method} ${q.url} did not arrive as ${want}`).toBeGreaterThanOrEqual(0);
          arrived.push(...unmatched.splice(i, 1));
        }
        expect(arrived.every((u) => u.authorization === "absent" && u.headers.accountid === undefined)).toBe(true);
        // Remote-write headers pass unchanged; so does the type of Grafana's form bodies.
        for (const u of arrived.filter((x) => x.path === insertPath)) {
          expect([u.contentEncoding, u.contentType, u.headers["x-prometheus-remote-write-version"]]).toEqual(["snappy", "application/x-protobuf", "0.1.0"]);
        }
        for (const u of client === "Grafana data source" ? arrived.filter((x) => x.method === "POST") : []) {
          expect(u.contentType).toMatch(/^application\/x-www-form-urlencoded/);
        }
        const paths = [...new Set(arrived.map((u) => `${u.method} ${u.path}`))].sort();
        const stats = tp.stats();
        let samples = {};
        if (t) {
          const received = arrived.flatMap((u) => (u.body && u.contentEncoding === "snappy" ? decodeRemoteWrite(u.body) : []));
          const s = tally(t, toExported(received.filter((x) => x.labels.__name__ === t.metric)));
          expect(s.missing, `${client}: samples missing at vminsert`).toEqual([]);
          expect(s.unexpected).toEqual([]);
          samples = { samplesSent: s.sent, samplesAccepted: stats.samplesAccepted, samplesFound: s.found, duplicates: s.duplicates };
        }
        if (client === "vmalert") {
          const received = arrived.flatMap((u) => (u.body && u.contentEncoding === "snappy" ? decodeRemoteWrite(u.body) : []));
          expect(received.length).toBeGreaterThanOrEqual(2);
          expect(received.every((x) => x.labels.__name__ === "e2e:cluster_probe" && x.value === 42)).toBe(true);
          samples = { samplesSent: received.length, samplesAccepted: stats.samplesAccepted, samplesFound: received.length };
        }
        summary.add({
          client,
          scenario: `cluster, ${shape.kind}: sends ${compactPaths(tp.requests().map((x) => x.url.split("?")[0]!))}`,
          requests: stats.requests,
          refusals: stats.refusals,
          ...samples,
          result: `arrived as ${compactPaths(arrived.map((u) => u.path))}`,
        });
        expect(stats.refusals).toEqual({});
        const expected = {
          vmagent: [`POST ${insertPath}`],
          "Prometheus agent": [`POST ${insertPath}`],
          vmalert: [`POST ${insertPath}`, `POST ${selectBase}/api/v1/query`],
          "Grafana data source": [
            `GET ${selectBase}/api/v1/label/__name__/values`,
            `GET ${selectBase}/api/v1/labels`,
            `GET ${selectBase}/api/v1/metadata`,
            `GET ${selectBase}/api/v1/query`,
            `GET ${selectBase}/api/v1/query_range`,
            `GET ${selectBase}/api/v1/series`,
            `GET ${selectBase}/api/v1/status/buildinfo`,
            `POST ${selectBase}/api/v1/labels`,
            `POST ${selectBase}/api/v1/query`,
            `POST ${selectBase}/api/v1/query_range`,
            `POST ${selectBase}/api/v1/series`,
          ],
        }[client];
        expect(paths, client).toEqual(expected);
      }
      // Nothing reached this tenant that no client sent.
      expect(unmatched.map((u) => `${u.method} ${u.path}`)).toEqual([]);
      // Writes only at vminsert, reads only at vmselect.
      expect(insert.requests().every((u) => u.path.startsWith("/insert/"))).toBe(true);
      expect(select.requests().every((u) => u.path.startsWith("/select/"))).toBe(true);

      if (shape.tokenTenant !== undefined) {
        // A tenant-specific token cannot name another tenant (nor its own) in the path.
        const before = select.requests().length;
        const other = await runGrafanaCalls(grafanaOpts(`${worker.url}/select/7/prometheus`, r.value, "POST", vmagentTarget.selector));
        expect(new Set(other.map((a) => a.status))).toEqual(new Set([403]));
        expect(select.requests().length).toBe(before);
        summary.add({
          client: "Grafana data source",
          scenario: "cluster tenant-specific token (12:34) asking /select/7/...",
          requests: other.length,
          refusals: { "403": other.length },
          result: "refused, nothing reached vmselect",
        });
      }
    }, 90_000);
  }
});

/** Distinct paths, shortened to their common prefix when there are many (for the summary). */
function compactPaths(all: string[]): string {
  const paths = [...new Set(all)].sort();
  if (paths.length <= 2) return paths.join(", ");
  let prefix = paths[0]!;
  for (const p of paths) while (!p.startsWith(prefix)) prefix = prefix.slice(0, -1);
  prefix = prefix.slice(0, prefix.lastIndexOf("/") + 1);
  return `${prefix}… (${paths.length} endpoints)`;
}

function grafanaOpts(baseUrl: string, token: string, httpMethod: "POST" | "GET", selector: string): GrafanaOptions {
  return { baseUrl, token, httpMethod, selector };
}

// ---------------------------------------------------------------------------------------------
// 2. Access levels

describe("access levels hold for real clients", () => {
  it("vmagent with a read token is refused, keeps its data and delivers it once its token file holds a write token", async () => {
    const dep = await singleNode("access");
    const [r, w] = await Promise.all([
      admin.createToken(dep.id, { type: "r", description: "wrong token for vmagent" }),
      admin.createToken(dep.id, { type: "w", description: "right token for vmagent" }),
    ]);
    const t = await target("e2e_access_sample_total", { scenario: "read-token" });
    const tp = await tap([t.metric]);
    // One queue: the block being retried holds it, so the next scrapes visibly queue up behind it.
    const agent = await startVmagent({ remoteWriteUrl: `${tp.url}/api/v1/write`, bearerToken: r.value, scrapeTargets: [t.address], queues: 1 });
    await stopAfter([agent], async () => {
      // Refused, retried after vmagent's back-off, data kept: nothing dropped, blocks waiting.
      const refused = await waitFor(
        async () => {
          const st = await agent.remoteWriteStats();
          return (st.requestsByStatus["403"] ?? 0) >= 2 && st.pendingBytes + st.pendingInmemoryBlocks > 0 ? st : undefined;
        },
        { timeoutMs: 15_000, what: "vmagent refused twice with data waiting" },
      );
      expect(refused.requestsByStatus["2XX"] ?? 0).toBe(0);
      expect(refused.packetsDropped).toBe(0);
      expect(await exportSeries(vm.url, t.selector)).toEqual([]);

      agent.setBearerToken(w.value); // vmagent re-reads the file at every request
      const switchedAt = Date.now();
      await t.waitForScrapes(t.served().length + 2);
      t.pause();
      const doneAt = await caughtUp(t, tp, "the pause");
      const after = await agent.remoteWriteStats();
      const s = tally(t, await vmExport(t.selector, t.expectedSamples()));
      const stats = tp.stats();
      summary.add({
        client: "vmagent (1 queue)",
        scenario: "r token, then token file rewritten with a w token",
        requests: stats.requests,
        refusals: stats.refusals,
        samplesSent: s.sent,
        samplesAccepted: stats.samplesAccepted,
        samplesFound: s.found,
        duplicates: s.duplicates,
        result:
          `while refused: ${refused.requestsByStatus["403"]}×403, ${refused.retries} retries, ${refused.pendingBytes} B + ${refused.pendingInmemoryBlocks} blocks queued, 0 dropped; ` +
          `all delivered ${doneAt - switchedAt} ms after the token file changed`,
      });
      expect(s.missing).toEqual([]);
      expect(s.unexpected).toEqual([]);
      expect(after.packetsDropped).toBe(0);
      expect(Object.keys(stats.refusals)).toEqual(["403"]);
    });
  }, 60_000);

  it("Grafana's calls with a write token are refused and never reach VictoriaMetrics", async () => {
    const dep = await singleNode("grafana-w");
    const w = await admin.createToken(dep.id, { type: "w", description: "wrong token for grafana" });
    const tp = await tap();
    const before = await vmSelectRequests();
    const answers = [
      ...(await runGrafanaCalls(grafanaOpts(tp.url, w.value, "POST", "up"))),
      ...(await runGrafanaCalls(grafanaOpts(tp.url, w.value, "GET", "up"))),
    ];
    expect(answers.map((a) => `${a.name} ${a.method} ${a.status}`)).toEqual(answers.map((a) => `${a.name} ${a.method} 403`));
    expect(answers.every((a) => /access/i.test(a.text))).toBe(true);
    expect(await vmSelectRequests()).toBe(before);
    const stats = tp.stats();
    summary.add({
      client: "Grafana data source",
      scenario: "w token, 7 calls × POST/GET settings",
      requests: stats.requests,
      refusals: stats.refusals,
      result: "all refused, VictoriaMetrics never asked",
    });
  });
});

/** VictoriaMetrics' own count of requests to its query endpoints (vm_http_requests_total). */
async function vmSelectRequests(): Promise<number> {
  const res = await fetchWithTimeout(`${vm.url}/metrics`);
  const m = parsePromText(await res.text());
  return m
    .filter((s) => s.name === "vm_http_requests_total" && /^\/api\/v1\/(query|query_range|labels|label|series|metadata|status)/.test(s.labels.path ?? ""))
    .reduce((a, s) => a + s.value, 0);
}

// ---------------------------------------------------------------------------------------------
// 4. Revocation (a read token used by Grafana)

describe("revocation", () => {
  it("the next request with a revoked read token is refused", async () => {
    const dep = await singleNode("revocation");
    const r = await admin.createToken(dep.id, { type: "r", description: "grafana, revoked" });
    const m = await measureRevocation({
      request: async () => {
        const res = await fetchWithTimeout(`${worker.url}/api/v1/query?query=1`, { headers: { authorization: `Bearer ${r.value}` } });
        await res.body?.cancel();
        return res.status;
      },
      revoke: () => admin.revokeToken(dep.id, r.id),
      refusalsAfter: 3, // each refusal counts toward the Worker's failed-auth throttle (20 per address)
    });
    summary.add({
      client: "Grafana-style poller",
      scenario: "r token revoked while polling /api/v1/query",
      requests: m.polls.length,
      refusals: countStatuses(m.polls.filter((p) => p.status !== 200).map((p) => p.status)),
      result: `accepted after the revoke answer: ${m.acceptedAfterRevoke} of ${m.pollsAfterRevoke}`,
    });
    summary.measure("revocation latency, read token (revoke answer → first refusal)", `${m.firstRefusalMs} ms (HTTP ${m.refusalStatus})`);
    expect(m.refusalStatus).toBe(401);
    expect(m.acceptedAfterRevoke).toBe(0);
    expect(m.pollsAfterRevoke).toBeGreaterThanOrEqual(3);
    const again = await fetchWithTimeout(`${worker.url}/api/v1/query?query=1`, { headers: { authorization: `Bearer ${r.value}` } });
    expect(again.status).toBe(401);
    expect(again.headers.get("www-authenticate")).toMatch(/^Bearer /);
    await again.body?.cancel();
  });
});

function countStatuses(statuses: (number | string)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of statuses) out[String(s)] = (out[String(s)] ?? 0) + 1;
  return out;
}

// ---------------------------------------------------------------------------------------------
// 3. No data loss under faults (runs last: it stops VictoriaMetrics and restarts the Worker)

/**
 * Resolves once every sample `t` has served so far is in a request the Worker answered 2xx
 * (seen at the client's tap); returns when. vmagent's own "pending" gauges do not count a block
 * a queue worker is retrying, so they cannot tell this.
 */
async function caughtUp(t: SampleTarget, tp: ClientTap, what: string, timeoutMs = 30_000): Promise<number> {
  const upTo = t.served().length;
  await waitFor(
    () => {
      const accepted = new Set(tp.acceptedSamples().map(sampleKey));
      const missing = t.served().slice(0, upTo).filter((sc) => {
        for (let i = 0; i < t.seriesCount; i++) {
          if (!accepted.has(sampleKey({ labels: { series: String(i) }, timestampMs: sc.timestampMs, value: sc.seq }))) return true;
        }
        return false;
      });
      return missing.length === 0 ? true : undefined;
    },
    { timeoutMs, intervalMs: 50, what: `vmagent to deliver every sample served before ${what}` },
  );
  return Date.now();
}

describe("no data loss under faults", () => {
  it("vmagent loses nothing through 429s, an upstream outage, a revoke-and-replace and a Worker restart", async () => {
    const dep = await singleNode("faults");
    const limit = singleTier.access_token_concurrent_requests;
    const tokenA = await admin.createToken(dep.id, { type: "w", description: "vmagent, revoked mid-run" });
    const t = await target("e2e_fault_sample_total", { scenario: "faults" }, 10);
    const tp = await tap([t.metric]);
    const agent = await startVmagent({
      remoteWriteUrl: `${tp.url}/api/v1/write`,
      bearerToken: tokenA.value,
      scrapeTargets: [t.address],
      scrapeInterval: "500ms",
      queues: 4, // several queues push concurrently with one token
    });
    const client = "vmagent (4 queues)";
    /** One summary row per fault: what vmagent saw from `since` until it had caught up. */
    const phase = (scenario: string, since: number, faultEnded: number, caught: number) => {
      const s = tp.stats(since);
      summary.add({
        client,
        scenario: `faults: ${scenario}`,
        requests: s.requests,
        refusals: s.refusals,
        result: `fault ${faultEnded - since} ms; caught up ${caught - faultEnded} ms after it ended`,
      });
      return s;
    };

    const finalStats = await stopAfter([agent], async () => {
      await t.waitForScrapes(2);
      await caughtUp(t, tp, "the first fault");

      // (a) The token's concurrency limit: extra uploads with the same token hold every permit.
      let since = Date.now();
      const hog = await holdPermits({ url: worker.url, token: tokenA.value, count: limit + 10, minRefused: 10 });
      await waitFor(() => (tp.stats(since).refusals["429"] ?? 0) >= 2, { timeoutMs: 10_000, what: "vmagent to get 429s" });
      const hogAnswers = await hog.release();
      let ended = Date.now();
      const s429 = phase(`${limit + 10} extra uploads hold the token's ${limit} permits`, since, ended, await caughtUp(t, tp, "the 429 window"));
      summary.add({
        client: "extra load, same token",
        scenario: `faults: ${limit + 10} slow uploads at once`,
        requests: limit + 10,
        refusals: Object.fromEntries(Object.entries(hogAnswers).filter(([k]) => !k.startsWith("2"))),
        result: `${hogAnswers["204"] ?? 0} held a permit until released`,
      });
      expect(s429.refusals["429"]).toBeGreaterThanOrEqual(2);
      expect(hogAnswers["429"]).toBeGreaterThanOrEqual(10);
      expect(hog.retryAfter().every((v) => v !== null && Number(v) >= 1)).toBe(true); // 429 + Retry-After

      // (b) The upstream VictoriaMetrics stopped and started again.
      since = Date.now();
      await vm.stop();
      await waitFor(() => (tp.stats(since).refusals["502"] ?? 0) >= 1, { timeoutMs: 10_000, what: "vmagent to get a 502" });
      await sleep(1_000);
      await vm.restart();
      ended = Date.now();
      const s502 = phase("VictoriaMetrics stopped, restarted", since, ended, await caughtUp(t, tp, "VictoriaMetrics' restart"));
      expect(s502.refusals["502"]).toBeGreaterThanOrEqual(1);

      // (c) The token revoked mid-run (measured by polling with it), then replaced.
      since = Date.now();
      const m = await measureRevocation({
        request: async () => {
          const res = await fetchWithTimeout(`${worker.url}/api/v1/import/prometheus`, {
            method: "POST",
            headers: { authorization: `Bearer ${tokenA.value}` },
            body: "", // writes nothing
          });
          await res.body?.cancel();
          return res.status;
        },
        revoke: () => admin.revokeToken(dep.id, tokenA.id),
        refusalsAfter: 3,
      });
      summary.measure("revocation latency, write token (revoke answer → first refusal)", `${m.firstRefusalMs} ms (HTTP ${m.refusalStatus})`);
      summary.add({
        client: "old-token poller",
        scenario: "faults: w token revoked while polling /api/v1/import/prometheus",
        requests: m.polls.length,
        refusals: countStatuses(m.polls.filter((p) => p.status < 200 || p.status > 299).map((p) => p.status)),
        result: `accepted after the revoke answer: ${m.acceptedAfterRevoke} of ${m.pollsAfterRevoke}`,
      });
      expect(m.acceptedAfterRevoke).toBe(0);
      expect(m.refusalStatus).toBe(401);
      await waitFor(() => (tp.stats(m.revokedAt).refusals["401"] ?? 0) >= 1, { timeoutMs: 10_000, what: "vmagent to get a 401" });
      const tokenB = await admin.createToken(dep.id, { type: "w", description: "vmagent, replacement" });
      agent.setBearerToken(tokenB.value); // vmagent re-reads its token file at every request
      ended = Date.now();
      const s401 = phase("token revoked, then token file rewritten with a new one", since, ended, await caughtUp(t, tp, "the token replacement"));
      expect(s401.refusals["401"]).toBeGreaterThanOrEqual(1);

      // (d) The Worker stopped until a push fails, then started again (same port and state).
      since = Date.now();
      await worker.stop();
      await waitFor(() => (tp.stats(since).refusals.conn ?? 0) >= 1, { timeoutMs: 10_000, what: "a push to fail while the Worker is down" });
      await worker.restart();
      ended = Date.now();
      phase("Worker restarted", since, ended, await caughtUp(t, tp, "the Worker's restart"));
      // The revocation survived the restart (new isolate, empty caches).
      const old = await fetchWithTimeout(`${worker.url}/api/v1/import/prometheus`, { method: "POST", headers: { authorization: `Bearer ${tokenA.value}` }, body: "" });
      expect(old.status).toBe(401);
      await old.body?.cancel();

      // A few more scrapes, then stop the target and wait until vmagent delivered everything.
      await t.waitForScrapes(t.served().length + 2);
      t.pause();
      await caughtUp(t, tp, "the end");
      return agent.remoteWriteStats();
    });

    // Every sample served, asked from VictoriaMetrics directly.
    const exported = await vmExport(t.selector, t.expectedSamples(), 30_000);
    const s = tally(t, exported);
    const accepted = compareWritten(tp.acceptedSamples(), exported);
    const stats = tp.stats();
    summary.add({
      client,
      scenario: "faults: whole run, VictoriaMetrics asked directly",
      requests: stats.requests,
      refusals: stats.refusals,
      samplesSent: s.sent,
      samplesAccepted: stats.samplesAccepted,
      samplesFound: s.found,
      duplicates: s.duplicates,
      result: s.missing.length === 0 ? `nothing lost; vmagent dropped ${finalStats.packetsDropped} blocks` : `${s.missing.length} MISSING`,
    });
    expect(s.missing, "samples lost").toEqual([]);
    expect(s.unexpected).toEqual([]);
    expect(accepted.missing, "accepted by the Worker but not stored").toEqual([]);
    expect(finalStats.packetsDropped).toBe(0);
    // The authorizer never answered with a status that makes vmagent drop data (design §6).
    expect(Object.keys(stats.refusals).filter((k) => ["400", "409", "415"].includes(k))).toEqual([]);
  }, 180_000);
});

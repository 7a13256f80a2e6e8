// Token policies (issue 13) end to end: real vmagent and Prometheus (agent mode) through the Worker
// in workerd into a real VictoriaMetrics single-node, on 127.0.0.1.
//   - rotation with overlap: the token of a running client is rotated, the client restarted with
//     the successor inside the overlap, and nothing is lost; after the overlap the old token is
//     refused as expired;
//   - label scope: every sample a label-scoped write token writes carries its label, also when
//     vmagent sends a conflicting value; a label-scoped read token sees only its series through
//     every endpoint it may use, whatever widening the client adds, and is refused the others.
// Run alone: npm run test:e2e -- test/e2e/token-policies.e2e.ts (docs/e2e.md).

import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startClientTap, type ClientTap } from "./lib/client-tap.ts";
import { managementClient, type Deployment, type Management, type Tier } from "./lib/management.ts";
import {
  cleanupTempRoot,
  fetchWithTimeout,
  startPrometheusAgent,
  startVictoriaMetrics,
  startVmagent,
  stopAll,
  waitFor,
  type Component,
  type VictoriaMetrics,
} from "./lib/processes.ts";
import { sampleKey } from "./lib/remote-write.ts";
import { startSampleTarget, type SampleTarget } from "./lib/sample-target.ts";
import { exportSeries, importPrometheus, waitForSamples, type ExportedSeries } from "./lib/vm-api.ts";
import { startWorker, stopAllWorkers, type WorkerHarness } from "./lib/worker.ts";

const run = randomBytes(4).toString("hex");

let vm: VictoriaMetrics;
let worker: WorkerHarness;
let admin: Management;
let tier: Tier;
const stoppers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  [vm, worker] = await Promise.all([startVictoriaMetrics(), startWorker()]);
  admin = managementClient(worker);
  tier = await admin.smallestTier("single_node");
}, 90_000);

let failed = false;
afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  await Promise.all(stoppers.map((s) => s().catch(() => undefined)));
  await stopAllWorkers();
  await stopAll();
  cleanupTempRoot(failed);
}, 60_000);

async function target(metric: string, labels: Record<string, string>, series = 3): Promise<SampleTarget> {
  const t = await startSampleTarget({ metric, series, labels: { run, ...labels } });
  stoppers.push(() => t.stop());
  return t;
}

async function tap(metric: string): Promise<ClientTap> {
  const t = await startClientTap({ target: worker.url, countSamples: (s) => s.labels.run === run && s.labels.__name__ === metric });
  stoppers.push(() => t.stop());
  return t;
}

async function singleNode(name: string): Promise<Deployment> {
  return admin.createDeployment({ name: `e2e ${name} ${run}`, type: "single_node", tier: tier.id, upstream_url: vm.url });
}

/** Waits until the Worker accepted every sample the target served so far (seen at the tap). */
async function caughtUp(t: SampleTarget, tp: ClientTap, what: string, timeoutMs = 30_000): Promise<void> {
  const upTo = t.served().length;
  await waitFor(
    () => {
      const accepted = new Set(tp.acceptedSamples().map(sampleKey));
      const missing = t.served().slice(0, upTo).some((sc) => {
        for (let i = 0; i < t.seriesCount; i++) {
          if (!accepted.has(sampleKey({ labels: { series: String(i) }, timestampMs: sc.timestampMs, value: sc.seq }))) return true;
        }
        return false;
      });
      return missing ? undefined : true;
    },
    { timeoutMs, intervalMs: 50, what: `every sample served before ${what} to be accepted` },
  );
}

/** What the Worker answers a write with this token (an empty body writes nothing). */
async function writeWith(token: string): Promise<{ status: number; body: string }> {
  const res = await fetchWithTimeout(`${worker.url}/api/v1/import/prometheus`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: "" });
  return { status: res.status, body: await res.text() };
}

async function stopAfter<T>(components: Component[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await Promise.all(components.map((c) => c.stop()));
  }
}

type Client = "vmagent" | "Prometheus agent";

describe("rotation with overlap", () => {
  // Long enough for a restart on a loaded machine, short enough to watch it end.
  const OVERLAP_SECONDS = 20;

  it.each<Client>(["vmagent", "Prometheus agent"])(
    "%s: rotated while running, restarted with the successor inside the overlap, loses nothing; the old token is then refused as expired",
    async (client) => {
      const dep = await singleNode(`rotation ${client}`);
      const old = await admin.createToken(dep.id, { type: "w", description: `${client}, to be rotated` });
      const metric = `e2e_rotation_${client === "vmagent" ? "vmagent" : "prometheus"}_total`;
      const t = await target(metric, { scenario: "rotation" });
      const tp = await tap(metric);
      const agent =
        client === "vmagent"
          ? await startVmagent({ remoteWriteUrl: `${tp.url}/api/v1/write`, bearerToken: old.value, scrapeTargets: [t.address] })
          : await startPrometheusAgent({ remoteWriteUrl: `${tp.url}/api/v1/write`, bearerToken: old.value, scrapeTargets: [t.address] });

      await stopAfter([agent], async () => {
        await t.waitForScrapes(3);
        await caughtUp(t, tp, "the rotation");

        const successor = await admin.rotateToken(dep.id, old.id, OVERLAP_SECONDS);
        const until = Date.parse(successor.replaces.expires_at);
        expect(successor).toMatchObject({ type: "w", description: old.description });
        // Both work during the overlap.
        expect((await writeWith(old.value)).status).toBe(204);
        expect((await writeWith(successor.value)).status).toBe(204);

        agent.setBearerToken(successor.value);
        await agent.restart();
        expect(Date.now(), "the restart took longer than the overlap").toBeLessThan(until);
        await t.waitForScrapes(t.served().length + 3);
        t.pause();
        await caughtUp(t, tp, "the end");

        // Nothing lost, asked from VictoriaMetrics directly, and no refusal on the way.
        const exported = await waitForSamples(vm.url, t.selector, t.expectedSamples(), { vmUrl: vm.url, timeoutMs: 20_000 });
        const c = t.compare(exported);
        expect(c.missing, "samples lost").toEqual([]);
        expect(c.unexpected).toEqual([]);
        expect(tp.stats().refusals).toEqual({});

        // After the overlap the old token is refused, saying it expired; the successor works.
        await waitFor(async () => (Date.now() > until ? true : undefined), { timeoutMs: OVERLAP_SECONDS * 1000 + 5_000, intervalMs: 200, what: "the overlap to end" });
        const refused = await writeWith(old.value);
        expect(refused.status).toBe(401);
        expect(JSON.parse(refused.body)).toMatchObject({ error: "expired_token", message: expect.stringMatching(/expired at/) });
        expect((await writeWith(successor.value)).status).toBe(204);
      });
    },
    120_000,
  );
});

describe("label scope", () => {
  it("vmagent with a label-scoped write token: every sample carries the token's label, also when vmagent sends a conflicting one", async () => {
    const dep = await singleNode("label write");
    const w = await admin.createToken(dep.id, { type: "w", description: "vmagent, team payments", labels: { team: "payments" } });
    const metric = "e2e_label_scope_write_total";
    const t = await target(metric, { scenario: "label-write" });
    const tp = await tap(metric);
    const agent = await startVmagent({
      remoteWriteUrl: `${tp.url}/api/v1/write`,
      bearerToken: w.value,
      scrapeTargets: [t.address],
      extraArgs: ["-remoteWrite.label=team=other"], // vmagent's own conflicting value
    });
    await stopAfter([agent], async () => {
      await t.waitForScrapes(3);
      t.pause();
      await caughtUp(t, tp, "the end");
    });
    // vmagent really sent the conflicting value (the tap decodes what it uploaded)...
    expect(tp.acceptedSamples().length).toBeGreaterThan(0);
    expect(tp.acceptedSamples().filter((s) => s.labels.team !== "other")).toEqual([]);
    // ...and VictoriaMetrics stored the token's instead.
    const exported = await waitForSamples(vm.url, t.selector, t.expectedSamples(), { vmUrl: vm.url, timeoutMs: 20_000 });
    expect(t.compare(exported).missing, "samples lost").toEqual([]);
    expect(exported.length).toBeGreaterThan(0);
    expect(exported.filter((s) => s.metric.team !== "payments").map((s) => s.metric)).toEqual([]);
    expect(tp.stats().refusals).toEqual({});
  }, 60_000);

  it("a label-scoped read token sees only its series through every endpoint it may use, and is refused the others", async () => {
    const dep = await singleNode("label read");
    const r = await admin.createToken(dep.id, { type: "r", description: "grafana, team payments", labels: { team: "payments" } });
    const name = `e2e_label_read_${run}`;
    const now = Date.now();
    await importPrometheus(
      vm.url,
      [`${name}{team="payments",host="h1"} 1 ${now}`, `${name}{team="other",host="h2"} 2 ${now}`, `${name}_secret{team="other",secret_label="s"} 3 ${now}`].join("\n"),
    );
    await waitForSamples(vm.url, `{__name__=~"${name}.*"}`, 3, { vmUrl: vm.url });
    const selector = encodeURIComponent(`{__name__=~"${name}.*"}`);
    const get = async (path: string, init: RequestInit = {}): Promise<Response> =>
      fetchWithTimeout(`${worker.url}${path}`, { ...init, headers: { authorization: `Bearer ${r.value}`, ...(init.headers as Record<string, string>) } });
    const json = async <T>(path: string, init?: RequestInit): Promise<T> => {
      const res = await get(path, init);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
      return JSON.parse(text) as T;
    };
    type Vector = { data: { result: { metric: Record<string, string> }[] } };
    const teams = (v: Vector) => [...new Set(v.data.result.map((s) => s.metric.team))];
    const widening = `extra_label=team%3Dother&extra_filters%5B%5D=${encodeURIComponent('{team="other"}')}&EXTRA_LABEL=team%3Dother`;

    // The query APIs may take time to see fresh rows: wait until the unscoped query sees both teams.
    await waitFor(async () => ((await fetchWithTimeout(`${vm.url}/api/v1/query?query=${selector}`).then((x) => x.json())) as Vector).data.result.length === 3 || undefined, {
      timeoutMs: 15_000,
      what: "the seed visible to queries",
    });
    expect(teams(await json<Vector>(`/api/v1/query?query=${selector}`))).toEqual(["payments"]);
    expect(teams(await json<Vector>(`/api/v1/query?query=${selector}&${widening}`))).toEqual(["payments"]);
    expect(
      teams(
        await json<Vector>("/api/v1/query", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: `query=${selector}&${widening}`,
        }),
      ),
    ).toEqual(["payments"]);
    const start = Math.floor(now / 1000) - 60;
    expect(teams(await json<Vector>(`/api/v1/query_range?query=${selector}&start=${start}&end=${start + 120}&step=30&${widening}`))).toEqual(["payments"]);
    const series = await json<{ data: Record<string, string>[] }>(`/api/v1/series?match[]=${selector}&${widening}`);
    expect([...new Set(series.data.map((s) => s.team))]).toEqual(["payments"]);
    const labels = await json<{ data: string[] }>(`/api/v1/labels?match[]=${selector}&start=${start}&${widening}`);
    expect(labels.data).not.toContain("secret_label");
    expect((await json<{ data: string[] }>(`/api/v1/label/team/values?start=${start}&${widening}`)).data).toEqual(["payments"]);
    const exportText = await (await get(`/api/v1/export?match[]=${selector}&${widening}`)).text();
    const exported = exportText.trim().split("\n").map((l) => JSON.parse(l) as ExportedSeries);
    expect([...new Set(exported.map((s) => s.metric.team))]).toEqual(["payments"]);
    const federated = await (await get(`/federate?match[]=${selector}&${widening}`)).text();
    expect(federated).toContain('team="payments"');
    expect(federated).not.toContain('team="other"');
    // Directly, the same selector sees both teams: the data is there, the token does not see it.
    expect(new Set((await exportSeries(vm.url, `{__name__=~"${name}.*"}`)).map((s) => s.metric.team))).toEqual(new Set(["payments", "other"]));

    for (const path of [`/api/v1/series/count`, `/graphite/tags`, `/graphite/metrics/find?query=*`]) {
      const res = await get(path);
      const body = (await res.json()) as { error: string };
      expect({ path, status: res.status, error: body.error }).toEqual({ path, status: 403, error: "label_scope_unsupported" });
    }
  }, 60_000);
});

describe("address allowlist over a real socket", () => {
  it("judges the address the runtime vouches for (CF-Connecting-IP), not the X-Forwarded-For a client sends", async () => {
    const dep = await singleNode("allowlist");
    const [loopback, elsewhere] = await Promise.all([
      admin.createToken(dep.id, { type: "w", description: "from loopback", allowed_networks: ["127.0.0.0/8", "::1"] }),
      admin.createToken(dep.id, { type: "w", description: "from 10/8", allowed_networks: ["10.0.0.0/8"] }),
    ]);
    // workerd sets CF-Connecting-IP to the socket's peer when the client sends none.
    expect((await writeWith(loopback.value)).status).toBe(204);
    const res = await fetchWithTimeout(`${worker.url}/api/v1/import/prometheus`, {
      method: "POST",
      headers: { authorization: `Bearer ${elsewhere.value}`, "x-forwarded-for": "10.1.2.3", "x-real-ip": "10.1.2.3", forwarded: "for=10.1.2.3" },
      body: "",
    });
    const body = (await res.json()) as { error: string; message: string };
    expect({ status: res.status, error: body.error }).toEqual({ status: 403, error: "address_not_allowed" });
    expect(body.message).toMatch(/not allowed from (127\.0\.0\.1|::1);/);
  }, 30_000);
});

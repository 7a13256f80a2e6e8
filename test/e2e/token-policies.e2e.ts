// Token policies (issue 13) end to end: real vmagent and Prometheus (agent mode) through the Worker
// in workerd into a real VictoriaMetrics single-node, on 127.0.0.1.
//   - rotation with overlap: the token of a running client is rotated, the client restarted with
//     the successor inside the overlap, and nothing is lost; after the overlap the old token is
//     refused as expired.
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
import { waitForSamples } from "./lib/vm-api.ts";
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
        expect(JSON.parse(refused.body)).toMatchObject({ message: expect.stringMatching(/expired/i) });
        expect((await writeWith(successor.value)).status).toBe(204);
      });
    },
    120_000,
  );
});

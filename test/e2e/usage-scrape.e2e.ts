// Per-token usage (issue 14) end to end: traffic through the Worker in workerd with one token —
// upstream successes, an upstream 4xx and refusals of different reasons — then the REAL vmagent
// scrapes `GET /admin/metrics` of the Worker with the API key (a `headers:` entry in its
// scrape config: the key goes in X-VM-Cloud-Access, which `authorization:` / `bearer_token`
// cannot send) and remote-writes into a real VictoriaMetrics, which is queried for the token's
// counters: they must equal what was sent, by class, code and reason. A second scrape job without
// the key stores nothing but `up` 0.
// Run alone: npx vitest run --config vitest.e2e.config.ts test/e2e/usage-scrape.e2e.ts (docs/e2e.md).

import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { managementClient, type AccessToken, type Deployment } from "./lib/management.ts";
import { cleanupTempRoot, fetchWithTimeout, startVictoriaMetrics, startVmagent, stopAll, waitFor, type VictoriaMetrics } from "./lib/processes.ts";
import { parsePromText, select } from "./lib/prom-text.ts";
import { forceFlush, queryInstant } from "./lib/vm-api.ts";
import { startWorker, stopAllWorkers, type WorkerHarness } from "./lib/worker.ts";

const run = randomBytes(4).toString("hex");
const METRIC = "vm_edge_authorizer_token_requests_total";

let vm: VictoriaMetrics;
let worker: WorkerHarness;
let deployment: Deployment;
let token: AccessToken;
/** Sends the requests that may run the isolate's sweep; its own counts are not looked at. */
let nudger: AccessToken;

beforeAll(async () => {
  [vm, worker] = await Promise.all([startVictoriaMetrics(), startWorker()]);
  const admin = managementClient(worker);
  const tier = await admin.smallestTier("single_node");
  deployment = await admin.createDeployment({ name: `e2e usage ${run}`, type: "single_node", tier: tier.id, upstream_url: vm.url });
  token = await admin.createToken(deployment.id, { type: "r", description: `e2e usage scrape ${run}` });
  nudger = await admin.createToken(deployment.id, { type: "r", description: `e2e usage nudger ${run}` });
}, 90_000);

let failed = false;
afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  await stopAllWorkers();
  await stopAll();
  cleanupTempRoot(failed);
}, 60_000);

/** One kind of request the test sends, what the client must get, and the series it must count as. */
interface Kind {
  what: string;
  method: string;
  path: string;
  status: number;
  labels: { class: string; code: string; reason: string };
  times: number;
}

const t = Math.floor(Date.now() / 1000);
const KINDS: Kind[] = [
  { what: "instant query", method: "GET", path: `/api/v1/query?query=vector(1)&time=${t}`, status: 200, labels: { class: "read", code: "2xx", reason: "upstream" }, times: 5 },
  { what: "query without a query (upstream 422)", method: "GET", path: "/api/v1/query", status: 422, labels: { class: "read", code: "4xx", reason: "upstream" }, times: 2 },
  // Refused for its access level: counted as the class it tried (docs/usage.md; test/worker/usage.test.ts).
  { what: "write with a read token", method: "POST", path: "/api/v1/write", status: 403, labels: { class: "write", code: "403", reason: "insufficient_access" }, times: 3 },
  { what: "no such API", method: "GET", path: "/no/such/api", status: 404, labels: { class: "other", code: "404", reason: "unknown_path" }, times: 1 },
];

const key = (l: Record<string, string | undefined>) => `${l.class}/${l.code}/${l.reason}`;

async function send(kind: Kind, as = token): Promise<void> {
  const res = await fetchWithTimeout(`${worker.url}${kind.path}`, {
    method: kind.method,
    headers: { authorization: `Bearer ${as.value}` },
    body: kind.method === "POST" ? new Uint8Array(0) : undefined,
  });
  await res.arrayBuffer();
  expect(res.status, `${kind.what}: ${kind.method} ${kind.path}`).toBe(kind.status);
}

/** The token's request counters in the Worker's own exposition, by class/code/reason. */
async function exposed(): Promise<Record<string, number>> {
  const res = await worker.fetch("/admin/metrics", { headers: { "X-VM-Cloud-Access": worker.adminApiKey } });
  expect(res.status).toBe(200);
  const out: Record<string, number> = {};
  for (const s of select(parsePromText(await res.text()), METRIC, { token_id: token.id })) out[key(s.labels)] = (out[key(s.labels)] ?? 0) + s.value;
  return out;
}

const total = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);

it("vmagent scrapes /admin/metrics with an API key into VictoriaMetrics: the token's counters equal what was sent", async () => {
  const sent: Record<string, number> = {};
  const count = (k: Kind) => (sent[key(k.labels)] = (sent[key(k.labels)] ?? 0) + 1);
  for (const kind of KINDS) {
    for (let i = 0; i < kind.times; i++) {
      await send(kind);
      count(kind);
    }
  }

  // Usage reaches the token's object on a lease call when due, or by the isolate's sweep, at
  // most once a minute (docs/usage.md), and the harness has no knob to hurry it. The sweep runs
  // after any request and ships every token's due counts: so every 4 s a request with another
  // token (`nudger`) gives it the chance, until the Worker exposes everything `token` sent. No
  // request of `token` is sent meanwhile, so any shipment of its counts is all of them.
  let lastSeen: Record<string, number> = {};
  await waitFor(
    async () => {
      const seen = await waitFor(async () => (total((lastSeen = await exposed())) === total(sent) ? true : undefined), { timeoutMs: 4_000, intervalMs: 250 }).catch(() => false);
      if (seen) return true;
      await send(KINDS[0]!, nudger);
      throw new Error(`exposed ${JSON.stringify(lastSeen)}, sent ${JSON.stringify(sent)}`);
    },
    { timeoutMs: 120_000, intervalMs: 0, what: "the Worker's /admin/metrics to show every request sent" },
  );
  expect(await exposed()).toEqual(sent);

  // The real vmagent: scrapes the Worker's /admin/metrics with the key in X-VM-Cloud-Access,
  // writes straight into VictoriaMetrics.
  const host = new URL(worker.url).host;
  const agent = await startVmagent({
    remoteWriteUrl: `${vm.url}/api/v1/write`,
    scrapeConfig: JSON.stringify({
      global: { scrape_interval: "1s", scrape_timeout: "1s" },
      scrape_configs: [
        {
          job_name: `authorizer-${run}`,
          metrics_path: "/admin/metrics",
          headers: [`X-VM-Cloud-Access: ${worker.adminApiKey}`],
          static_configs: [{ targets: [host] }],
        },
        // The same target without the key: the Worker answers 401, so vmagent stores `up` 0 and nothing else.
        { job_name: `no-key-${run}`, metrics_path: "/admin/metrics", static_configs: [{ targets: [host] }] },
      ],
    }),
  });
  try {
    const selector = `${METRIC}{job="authorizer-${run}",token_id="${token.id}"}`;
    const stored = await waitFor(
      async () => {
        await forceFlush(vm.url);
        const res = await queryInstant(vm.url, selector);
        const got: Record<string, number> = {};
        for (const s of res) got[key(s.metric)] = Number(s.value[1]);
        return total(got) === total(sent) ? res : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: `${selector} in VictoriaMetrics to add up to the requests sent` },
    );
    const got: Record<string, number> = {};
    for (const s of stored) {
      got[key(s.metric)] = Number(s.value[1]);
      expect(s.metric).toMatchObject({ deployment_id: deployment.id, token_id: token.id, token_description: token.description });
    }
    expect(got).toEqual(sent);
    // vmagent's own view: the scrape target is up (the header was accepted).
    const up = await queryInstant(vm.url, `up{job="authorizer-${run}"}`);
    expect(up.map((s) => s.value[1])).toEqual(["1"]);
    const noKey = await waitFor(async () => {
      const r = await queryInstant(vm.url, `up{job="no-key-${run}"}`);
      return r.length > 0 ? r : undefined;
    }, { timeoutMs: 10_000, intervalMs: 500, what: "up of the scrape without the key" });
    expect(noKey.map((s) => s.value[1])).toEqual(["0"]);
    expect(await queryInstant(vm.url, `${METRIC}{job="no-key-${run}"}`)).toEqual([]);
  } finally {
    await agent.stop();
  }
}, 180_000); // a shipment is due once a minute; the rest is margin for a loaded machine

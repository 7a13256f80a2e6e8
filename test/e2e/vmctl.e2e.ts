// Moving data between two deployments through the Worker, and reading a query with a client that
// names no content coding — what a new user tries first, with real tools:
//   1. `vmctl vm-native` (Debian's vmctl) reads /api/v1/export/native from deployment A with a read
//      token and writes it to /api/v1/import/native of deployment B with a write token, both as
//      HTTP Basic auth; every series and sample arrives. (It failed with "too big metricName size"
//      when the export was handed to vmctl gzip-encoded although vmctl never asked for gzip.)
//   2. A client without Accept-Encoding gets plain JSON; one that accepts gzip gets gzip.
// Run alone: npx vitest run --config vitest.e2e.config.ts test/e2e/vmctl.e2e.ts (docs/e2e.md).

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { managementClient, type Management } from "./lib/management.ts";
import { cleanupTempRoot, startVictoriaMetrics, stopAll, type VictoriaMetrics } from "./lib/processes.ts";
import { countSamples, exportSeries, forceFlush, importPrometheus, waitForSamples } from "./lib/vm-api.ts";
import { startWorker, stopAllWorkers, type WorkerHarness } from "./lib/worker.ts";

const run = randomBytes(4).toString("hex");
const METRIC = `vmctl_e2e_${run}`;
const SERIES = 20;
const POINTS = 30;

let source: VictoriaMetrics;
let destination: VictoriaMetrics;
let worker: WorkerHarness;
let admin: Management;
let readA = "";
let writeB = "";
let readB = "";
let failed = false;

beforeAll(async () => {
  [source, destination, worker] = await Promise.all([startVictoriaMetrics(), startVictoriaMetrics(), startWorker()]);
  admin = managementClient(worker);
  const tier = await admin.smallestTier("single_node");
  const [a, b] = await Promise.all(
    [source, destination].map((vm, i) => admin.createDeployment({ name: `e2e vmctl ${"AB"[i]} ${run}`, type: "single_node", tier: tier.id, upstream_url: vm.url })),
  );
  [readA = "", writeB = "", readB = ""] = (
    await Promise.all([
      admin.createToken(a!.id, { type: "r", description: "vmctl source" }),
      admin.createToken(b!.id, { type: "w", description: "vmctl destination" }),
      admin.createToken(b!.id, { type: "r", description: "check" }),
    ])
  ).map((t) => t.value);

  // SERIES × POINTS samples, one a minute over the last half hour, straight into A.
  const now = Date.now() - 60_000;
  const lines: string[] = [];
  for (let s = 0; s < SERIES; s++) {
    for (let p = 0; p < POINTS; p++) lines.push(`${METRIC}{series="${s}",job="vmctl-e2e"} ${s * 1000 + p} ${now - (POINTS - p) * 60_000}`);
  }
  await importPrometheus(source.url, lines.join("\n") + "\n");
  await waitForSamples(source.url, METRIC, SERIES * POINTS, { vmUrl: source.url, timeoutMs: 20_000 });
}, 90_000);

afterAll(async () => {
  await stopAllWorkers();
  await stopAll();
  cleanupTempRoot(failed);
}, 60_000);

/**
 * Runs vmctl on a pseudo-terminal (`script` from util-linux): vmctl 1.79 draws progress bars and
 * exits with an error when its output is not a terminal, and it has no flag to turn them off.
 */
function vmctl(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  const quoted = ["vmctl", ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  return new Promise((resolve) => {
    const child = spawn("script", ["-q", "-e", "-c", quoted, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.stdin.end("y\n"); // should it ask for confirmation
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** A GET with exactly the headers given (node's fetch would add Accept-Encoding of its own). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

describe("vmctl vm-native between two deployments through the Worker", () => {
  it("copies every series and sample from A (read token) to B (write token), both as Basic auth", async () => {
    const result = await vmctl([
      "vm-native",
      `--vm-native-src-addr=${worker.url}`,
      "--vm-native-src-user=vmctl",
      `--vm-native-src-password=${readA}`,
      `--vm-native-dst-addr=${worker.url}`,
      "--vm-native-dst-user=vmctl",
      `--vm-native-dst-password=${writeB}`,
      `--vm-native-filter-match={__name__="${METRIC}"}`,
      "--vm-native-filter-time-start=2020-01-01T00:00:00Z",
    ]);
    if (result.code !== 0) failed = true;
    expect(result.code, result.output.slice(-2000)).toBe(0);
    expect(result.output).not.toMatch(/too big metricName|cannot unmarshal|error/i);

    await forceFlush(destination.url);
    // Counted on both sides: on A directly, on B through the Worker with a read token of B's.
    const onA = await exportSeries(source.url, METRIC);
    const onB = await waitForSamples(worker.url, METRIC, SERIES * POINTS, { token: readB, vmUrl: destination.url, timeoutMs: 20_000 });
    expect(onA).toHaveLength(SERIES);
    expect(onB).toHaveLength(SERIES);
    expect(countSamples(onB)).toBe(countSamples(onA));
    const key = (s: { metric: Record<string, string> }) => s.metric.series!;
    const byKey = new Map(onA.map((s) => [key(s), s]));
    for (const s of onB) {
      expect(s.values).toEqual(byKey.get(key(s))!.values);
      expect(s.timestamps).toEqual(byKey.get(key(s))!.timestamps);
    }
  }, 120_000);
});

describe("content codings a client did not ask for never reach it", () => {
  const queryUrl = () => `${worker.url}/api/v1/query?query=${encodeURIComponent(`${METRIC}[1h]`)}`;

  it("a client without Accept-Encoding reads a query as plain JSON", async () => {
    const res = await rawGet(queryUrl(), { authorization: `Bearer ${readA}` });
    expect(res.status).toBe(200);
    expect(res.headers["content-encoding"]).toBeUndefined();
    const body = JSON.parse(res.body.toString("utf8")) as { status: string; data: { result: unknown[] } };
    expect(body.status).toBe("success");
    expect(body.data.result).toHaveLength(SERIES);
  });

  it("a client that accepts gzip gets the upstream's gzip, passed through", async () => {
    const res = await rawGet(queryUrl(), { authorization: `Bearer ${readA}`, "accept-encoding": "gzip" });
    expect(res.status).toBe(200);
    expect(res.headers["content-encoding"]).toBe("gzip");
    const body = JSON.parse(gunzipSync(res.body).toString("utf8")) as { data: { result: unknown[] } };
    expect(body.data.result).toHaveLength(SERIES);
  });
});

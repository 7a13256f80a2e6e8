// Starts the four ways to reach one VictoriaMetrics, all on 127.0.0.1, with the e2e harness
// (test/e2e/lib): VictoriaMetrics itself, vmauth, the bare Worker and the authorizer, the two
// Workers each in its own workerd started through miniflare's API (no wrangler dev proxy).

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unstable_readConfig } from "wrangler";
import {
  LOOPBACK,
  fetchWithTimeout,
  freePort,
  makeTempDir,
  spawnManaged,
  startVictoriaMetrics,
  tempRoot,
  waitFor,
  writePrivateFile,
  type ManagedProcess,
  type VictoriaMetrics,
} from "../../test/e2e/lib/processes.ts";
import { REPO_ROOT, bundleWorker, startWorker, type WorkerHarness } from "../../test/e2e/lib/worker.ts";
import { descendantsNamed } from "./proc.ts";
import { querySeedLines } from "./payloads.ts";

export const BENCH_DIR = join(REPO_ROOT, "bench");

/** A proxy under test: where to send requests and which OS processes do its work. */
export interface Target {
  name: "direct" | "vmauth" | "bare" | "authorizer";
  url: string;
  /** Processes whose CPU and memory count as the proxy's (empty for direct). */
  pids: number[];
  /** Authorization header value for this target. */
  authorization?: string;
}

export async function startVm(nowMs: number): Promise<VictoriaMetrics> {
  const vm = await startVictoriaMetrics();
  const res = await fetchWithTimeout(`${vm.url}/api/v1/import`, { method: "POST", body: querySeedLines(nowMs) });
  if (res.status !== 204) throw new Error(`seeding VictoriaMetrics answered ${res.status}`);
  await fetchWithTimeout(`${vm.url}/internal/force_flush`);
  await waitFor(
    async () => {
      const r = await fetchWithTimeout(`${vm.url}/api/v1/query?query=count(bench_series)&time=${nowMs / 1000}`);
      const body = (await r.json()) as { data?: { result?: { value: [number, string] }[] } };
      return body.data?.result?.[0]?.value[1] === "5";
    },
    { what: "the seeded query series to be searchable", timeoutMs: 15_000 },
  );
  return vm;
}

export interface Vmauth {
  url: string;
  process: ManagedProcess;
  /** The vmauth process itself (under `timeout`). */
  pid: number;
  /** Wall time from spawn to the first answer of /health. */
  startMs: number;
  stop(): Promise<void>;
}

/** vmauth 1.79.5 with one `bearer_token` user per token, every one routed to `upstream`. */
export async function startVmauth(tokens: string[], upstream: string, readyTimeoutMs = 120_000): Promise<Vmauth> {
  const dir = makeTempDir("vmauth");
  const config =
    "users:\n" + tokens.map((t) => `  - bearer_token: "${t}"\n    url_prefix: "${upstream}"\n`).join("");
  const configFile = writePrivateFile(dir, "auth.yml", config);
  const port = await freePort();
  const started = Date.now();
  const proc = await spawnManaged({
    name: `vmauth-${port}`,
    command: "vmauth",
    args: [`-httpListenAddr=${LOOPBACK}:${port}`, `-auth.config=${configFile}`, "-loggerLevel=WARN"],
    logDir: join(tempRoot(), "logs"),
    readyUrl: `http://${LOOPBACK}:${port}/health`,
    readyTimeoutMs,
  });
  const startMs = Date.now() - started;
  const [pid] = descendantsNamed(proc.pid, "vmauth");
  if (pid === undefined) throw new Error("vmauth process not found under its launcher");
  return { url: `http://${LOOPBACK}:${port}`, process: proc, pid, startMs, stop: async () => void (await proc.stop()) };
}

export interface StartedWorker {
  harness: WorkerHarness;
  /** The workerd process(es) this miniflare instance started. */
  pids: number[];
}

/** Starts a harness Worker and finds the workerd process(es) it added under this process. */
async function withPids(start: () => Promise<WorkerHarness>): Promise<StartedWorker> {
  const before = new Set(descendantsNamed(process.pid, "workerd"));
  const harness = await start();
  const pids = descendantsNamed(process.pid, "workerd").filter((p) => !before.has(p));
  if (pids.length === 0) throw new Error("no new workerd process found after starting the Worker");
  return { harness, pids };
}

/**
 * The bare pass-through Worker, bundled by `wrangler deploy --dry-run` like the authorizer, with
 * the compatibility date and flags read from the project's wrangler.toml.
 */
export async function startBareWorker(upstream: string, opts: { bundleDir?: string } = {}): Promise<StartedWorker> {
  const configPath = bareWorkerConfig();
  return withPids(() => startWorker({ root: REPO_ROOT, configPath, migrate: false, vars: { UPSTREAM: upstream }, bundleDir: opts.bundleDir }));
}

/** A wrangler.toml (in a temp dir) for the bare Worker, dated and flagged like the project's. */
export function bareWorkerConfig(): string {
  const config = unstable_readConfig({ config: join(REPO_ROOT, "wrangler.toml") }, { hideWarnings: true });
  const dir = makeTempDir("bare-worker");
  // The harness expects the bundle as index.js, so the entry is called index.ts.
  writeFileSync(join(dir, "index.ts"), `export { default } from ${JSON.stringify(join(BENCH_DIR, "bare-worker.ts"))};\n`);
  const toml = [
    `name = "bench-bare-worker"`,
    `main = "index.ts"`,
    `compatibility_date = ${JSON.stringify(config.compatibility_date)}`,
    `compatibility_flags = ${JSON.stringify(config.compatibility_flags ?? [])}`,
    "",
  ].join("\n");
  const configPath = join(dir, "wrangler.toml");
  writeFileSync(configPath, toml);
  return configPath;
}

/** The authorizer exactly as `wrangler deploy` would bundle it (or from a prepared bundle). */
export async function startAuthorizer(opts: { bundleDir?: string; stateDir?: string; vars?: Record<string, string>; adminApiKey?: string; tokenEncryptionKey?: string; migrate?: boolean } = {}): Promise<StartedWorker> {
  return withPids(() => startWorker(opts));
}

export async function bundleAuthorizer(): Promise<string> {
  const out = makeTempDir("authorizer-bundle");
  mkdirSync(out, { recursive: true });
  return bundleWorker(REPO_ROOT, join(REPO_ROOT, "wrangler.toml"), out);
}

/** Admin API helper bound to one running authorizer. */
export function admin(worker: Pick<WorkerHarness, "fetch" | "adminApiKey">) {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await worker.fetch(`/admin/api/v1${path}`, {
      method,
      headers: { "x-vm-cloud-access": worker.adminApiKey, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return {
    createDeployment: (upstreamUrl: string, tier = 23) =>
      call<{ id: string }>("POST", "/deployments", { name: "bench", type: "single_node", tier, upstream_url: upstreamUrl }),
    createToken: (deploymentId: string, description = "bench") =>
      call<{ id: string; value: string }>("POST", `/deployments/${deploymentId}/access_tokens`, { type: "rw", description }),
  };
}

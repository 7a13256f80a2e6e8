// The authorizer in workerd through miniflare's API with the same options the e2e harness
// derives from wrangler.toml, plus an inspector port: for the V8 heap of the Worker's isolate
// (Runtime.getHeapUsage) and CPU profiles (bench/profile.ts). The harness itself has no
// inspector option, so this builds the options the same way (test/e2e/lib/worker.ts, step 2–3).

import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";
import { LOOPBACK, fetchWithTimeout, freePort, makeTempDir } from "../../test/e2e/lib/processes.ts";
import { REPO_ROOT, applyMigrations, type D1 } from "../../test/e2e/lib/worker.ts";
import { descendantsNamed } from "./proc.ts";

export interface InspectableWorker {
  url: string;
  adminApiKey: string;
  pids: number[];
  miniflare: Miniflare;
  fetch(path: string, init?: RequestInit, timeoutMs?: number): Promise<Response>;
  d1(): Promise<D1>;
  /** Send one inspector command to the Worker's isolate. */
  inspect<T>(method: string, params?: object): Promise<T>;
  /** Live JS heap of the Worker's isolate after a full GC, bytes. */
  heapUsed(): Promise<number>;
  stop(): Promise<void>;
}

export async function startInspectableWorker(bundleDir: string): Promise<InspectableWorker> {
  const config = unstable_readConfig({ config: join(REPO_ROOT, "wrangler.toml") }, { hideWarnings: true });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  const { rootPath: _r, modulesRules: _m, ...worker } = workerOptions as typeof workerOptions & { rootPath?: string; modulesRules?: unknown };
  const port = await freePort();
  const inspectorPort = await freePort();
  const adminApiKey = randomBytes(24).toString("base64url");
  const before = new Set(descendantsNamed(process.pid, "workerd"));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      ...worker,
      name: config.name,
      modules: true,
      modulesRoot: bundleDir,
      scriptPath: join(bundleDir, "index.js"),
      bindings: {
        ...(worker.bindings ?? {}),
        ACCESS_ENDPOINT: `http://${LOOPBACK}:${port}`,
        ADMIN_API_KEY: adminApiKey,
        TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
      },
      host: LOOPBACK,
      port,
      inspectorPort,
      cf: false,
      resourcePersistencePath: makeTempDir("inspectable-state"),
      logRequests: false,
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  await mf.ready;
  await applyMigrations((await mf.getD1Database("DB")) as unknown as D1, join(REPO_ROOT, "migrations"));
  const pids = descendantsNamed(process.pid, "workerd").filter((p) => !before.has(p));

  // The inspector lists one target per isolate; the Worker's carries the script name.
  const targets = (await (await fetch(`http://${LOOPBACK}:${inspectorPort}/json`)).json()) as { title?: string; webSocketDebuggerUrl: string }[];
  const target = targets.find((x) => x.title?.includes(config.name)) ?? targets[0];
  if (!target) throw new Error("no inspector target");
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((ok, fail) => ((ws.onopen = ok), (ws.onerror = fail)));
  let nextId = 1;
  const pending = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
  ws.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (msg.id === undefined) return;
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) p?.fail(new Error(msg.error.message));
    else p?.ok(msg.result);
  };
  const inspect = <T>(method: string, params: object = {}) =>
    new Promise<T>((ok, fail) => {
      const id = nextId++;
      pending.set(id, { ok: ok as (v: unknown) => void, fail });
      ws.send(JSON.stringify({ id, method, params }));
      setTimeout(() => fail(new Error(`inspector ${method} timed out`)), 60_000).unref();
    });
  const url = `http://${LOOPBACK}:${port}`;
  return {
    url,
    adminApiKey,
    pids,
    miniflare: mf,
    fetch: (path, init = {}, timeoutMs = 10_000) => fetchWithTimeout(`${url}${path}`, init, timeoutMs),
    d1: async () => (await mf.getD1Database("DB")) as unknown as D1,
    inspect,
    async heapUsed() {
      await inspect("HeapProfiler.collectGarbage").catch(() => undefined);
      const r = await inspect<{ usedSize: number }>("Runtime.getHeapUsage");
      return r.usedSize;
    },
    async stop() {
      ws.close();
      await mf.dispose();
    },
  };
}

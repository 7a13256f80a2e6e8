// The Worker in workerd (test/e2e/lib/worker.ts: miniflare, persisted state, restart()) in front
// of real fault upstreams on loopback, with deployments and tokens created through the
// management API over HTTP — what a client and an operator would do.

import { bundleWorker, startWorker, type WorkerHarness } from "../../e2e/lib/worker.ts";
import type { GrantUnderTest } from "./oracle.ts";
import { startFaultUpstream, type FaultUpstream } from "./fault-upstream.ts";

export interface TokenOnStack extends GrantUnderTest {
  id: string;
  deploymentId: string;
  secret: string;
}

export interface Stack {
  worker: WorkerHarness;
  /** Single-node A (tokens under test), single-node B (never to be reached), cluster C (insert/select). */
  single: FaultUpstream;
  other: FaultUpstream;
  insert: FaultUpstream;
  select: FaultUpstream;
  tokens: TokenOnStack[];
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  stop(): Promise<void>;
}

let bundle: Promise<string> | undefined;
/** One bundle per process: `wrangler deploy --dry-run` costs about a second. */
export function sharedBundle(): Promise<string> {
  bundle ??= bundleWorker();
  return bundle;
}

export async function adminCall(worker: WorkerHarness, method: string, path: string, body?: unknown): Promise<Response> {
  return worker.fetch(`/admin/api/v1${path}`, {
    method,
    headers: { "x-vm-cloud-access": worker.adminApiKey, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function json<T>(res: Response): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status} ${text}`);
  return JSON.parse(text) as T;
}

export async function startStack(opts: { vars?: Record<string, string>; tier?: number; clusterTier?: number; stateDir?: string; tokenEncryptionKey?: string } = {}): Promise<Stack> {
  const [single, other, insert, select] = await Promise.all([startFaultUpstream(), startFaultUpstream(), startFaultUpstream(), startFaultUpstream()]);
  const worker = await startWorker({ bundleDir: await sharedBundle(), vars: opts.vars, stateDir: opts.stateDir, tokenEncryptionKey: opts.tokenEncryptionKey });
  const admin = (m: string, p: string, b?: unknown) => adminCall(worker, m, p, b);
  const a = await json<{ id: string }>(await admin("POST", "/deployments", { name: "hardening A", type: "single_node", tier: opts.tier ?? 20, upstream_url: single.url }));
  await json(await admin("POST", "/deployments", { name: "hardening B", type: "single_node", tier: opts.tier ?? 20, upstream_url: other.url }));
  const c = await json<{ id: string }>(
    await admin("POST", "/deployments", { name: "hardening C", type: "cluster", tier: opts.clusterTier ?? 40, insert_url: insert.url, select_url: select.url }),
  );
  const tokens: TokenOnStack[] = [];
  const mint = async (deploymentId: string, access: "r" | "w" | "rw", tenant?: string) =>
    json<{ id: string; value: string }>(await admin("POST", `/deployments/${deploymentId}/access_tokens`, { type: access, description: `hardening ${access}`, ...(tenant ? { tenant_id: tenant } : {}) }));
  for (const access of ["r", "w", "rw"] as const) {
    const s = await mint(a.id, access);
    tokens.push({ name: `single ${access}`, id: s.id, deploymentId: a.id, secret: s.value, deploymentType: "single_node", access, upstream: single.url });
    const r = await mint(c.id, access);
    tokens.push({ name: `cluster ${access}`, id: r.id, deploymentId: c.id, secret: r.value, deploymentType: "cluster", access, insert: insert.url, select: select.url });
    const t = await mint(c.id, access, "42:7");
    tokens.push({
      name: `cluster ${access} tenant 42:7`,
      id: t.id,
      deploymentId: c.id,
      secret: t.value,
      deploymentType: "cluster",
      access,
      tenant: "42:7",
      insert: insert.url,
      select: select.url,
    });
  }
  return {
    worker,
    single,
    other,
    insert,
    select,
    tokens,
    admin,
    async stop() {
      await worker.stop();
      await Promise.all([single.stop(), other.stop(), insert.stop(), select.stop()]);
    },
  };
}

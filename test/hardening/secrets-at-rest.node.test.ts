// Secrets at rest and in logs. A full lifecycle runs against the Worker in workerd with state
// persisted on disk (create deployments and an API key, mint tokens, use them on the data plane
// with Bearer and Basic, fail with near-misses, reveal, examples, update, revoke, delete, restart);
// then every D1 row, every KV key and value, every Durable Object's storage, every log line, every
// request the upstream received, every error body — and every byte of every file under the state
// directory — is searched for each secret in several encodings. Expected hits: zero.

import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupTempRoot } from "../e2e/lib/processes.ts";
import { startWorker, type WorkerHarness } from "../e2e/lib/worker.ts";
import { startFaultUpstream, type FaultUpstream } from "./lib/fault-upstream.ts";
import { generateSecret } from "../../src/token/format.ts";
import { sharedBundle } from "./lib/stack.ts";

let worker: WorkerHarness;
let upstream: FaultUpstream;
let insert: FaultUpstream;
let select: FaultUpstream;
/** Every secret the run produced or used, by name. */
const secrets = new Map<string, string>();
/** Bodies of every answer that must not carry a secret (errors, lists, everything but create/reveal/examples). */
const plainAnswers: string[] = [];
const figures: Record<string, unknown> = {};

async function call(method: string, path: string, init: { key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
  const res = await worker.fetch(path, {
    method,
    headers: { "content-type": "application/json", ...(init.key ? { "x-vm-cloud-access": init.key } : {}), ...init.headers },
    body: init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
  });
  return res;
}

async function expectStatus<T>(res: Response, status: number, revealsSecret = false): Promise<T> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`);
  if (!revealsSecret) plainAnswers.push(text);
  return (text ? JSON.parse(text) : undefined) as T;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** The forms in which a leaked secret could sit in a file or a log. */
function encodings(secret: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {
    utf8: Buffer.from(secret, "utf8"),
    utf16le: Buffer.from(secret, "utf16le"),
    base64: Buffer.from(Buffer.from(secret).toString("base64").replace(/=+$/, "")),
    hex: Buffer.from(Buffer.from(secret).toString("hex")),
  };
  // The random body alone (prefix and checksum stripped) would be a leak too.
  const body = /^vm(at|ak)_(.{44})/.exec(secret)?.[2];
  if (body) out.body = Buffer.from(body);
  return out;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

beforeAll(async () => {
  [upstream, insert, select] = await Promise.all([startFaultUpstream(), startFaultUpstream(), startFaultUpstream()]);
  worker = await startWorker({ bundleDir: await sharedBundle(), vars: { UPSTREAM_TIMEOUT_MS: "1000" } });
  secrets.set("ADMIN_API_KEY", worker.adminApiKey);
  secrets.set("TOKEN_ENCRYPTION_KEY", worker.tokenEncryptionKey);
}, 60_000);

afterAll(async () => {
  console.log(`HARDENING secrets ${JSON.stringify(figures)}`);
  await worker?.stop();
  await Promise.all([upstream?.stop(), insert?.stop(), select?.stop()]);
  cleanupTempRoot((figures.hits as unknown[] | undefined)?.length !== 0); // kept when a secret was found
});

describe("a full lifecycle leaves no secret at rest or in logs", () => {
  it("runs create → use → reveal → revoke → delete, then finds no secret anywhere", async () => {
    const boot = worker.adminApiKey;
    const api = "/admin/api/v1";

    // An API key, then everything else done with it.
    const key = await expectStatus<{ id: string; value: string }>(await call("POST", `${api}/api_keys`, { key: boot, body: { name: "ci", access: "rw" } }), 201, true);
    secrets.set("api key", key.value);
    const single = await expectStatus<{ id: string }>(
      await call("POST", `${api}/deployments`, { key: key.value, body: { name: "s", type: "single_node", tier: 20, upstream_url: upstream.url } }),
      201,
    );
    const cluster = await expectStatus<{ id: string }>(
      await call("POST", `${api}/deployments`, { key: key.value, body: { name: "c", type: "cluster", tier: 40, insert_url: insert.url, select_url: select.url } }),
      201,
    );
    const [listed] = await expectStatus<{ id: string; value: string }[]>(await call("GET", `${api}/deployments/${single.id}/access_tokens`, { key: key.value }), 200);
    const defaultToken = await expectStatus<{ id: string; value: string }>(await call("GET", `${api}/deployments/${single.id}/access_tokens/${listed!.id}`, { key: key.value }), 200, true);
    secrets.set("default token", defaultToken.value);
    const writer = await expectStatus<{ id: string; value: string }>(
      await call("POST", `${api}/deployments/${single.id}/access_tokens`, { key: key.value, body: { type: "w", description: "agent" } }),
      201,
      true,
    );
    secrets.set("write token", writer.value);
    const tenant = await expectStatus<{ id: string; value: string }>(
      await call("POST", `${api}/deployments/${cluster.id}/access_tokens`, { key: boot, body: { type: "rw", description: "tenant", tenant_id: "42:7" } }),
      201,
      true,
    );
    secrets.set("tenant token", tenant.value);
    await expectStatus(await call("GET", `${api}/deployments/${cluster.id}/access_tokens/${tenant.id}/examples`, { key: key.value }), 200, true);

    // Use them on the data plane: Bearer, Basic, reads, writes, cluster paths.
    const data = async (path: string, secret: string, method = "GET", basic = false) => {
      const auth = basic ? `Basic ${Buffer.from(`telegraf:${secret}`).toString("base64")}` : `Bearer ${secret}`;
      const res = await call(method, path, { headers: { authorization: auth }, body: method === "POST" ? "m 1" : undefined });
      const text = await res.text();
      if (res.status >= 400) plainAnswers.push(text);
      return res.status;
    };
    expect(await data("/api/v1/query?query=up", defaultToken.value)).toBe(200);
    expect(await data("/api/v1/import/prometheus", writer.value, "POST")).toBe(204);
    expect(await data("/influx/write", writer.value, "POST", true)).toBe(204);
    expect(await data("/prometheus/api/v1/write", tenant.value, "POST")).toBe(204);
    expect(await data("/prometheus/api/v1/query?query=up", tenant.value)).toBe(200);
    // Refusals and near misses: wrong access, wrong path, a typo, a secret in the wrong header.
    expect(await data("/api/v1/query", writer.value)).toBe(403);
    expect(await data("/internal/force_merge", defaultToken.value)).toBe(403);
    expect(await data("/api/v1/query", writer.value.slice(0, -1) + (writer.value.endsWith("a") ? "b" : "a"))).toBe(401);
    expect(await data("/api/v1/query", key.value)).toBe(401);
    await expectStatus(await call("GET", `${api}/tiers`, { key: writer.value }), 401);
    await expectStatus(await call("GET", `${api}/tiers`, { key: key.value.slice(0, -1) }), 401);
    // Faults whose errors get logged: an unreachable upstream, one that hangs.
    await upstream.refuse();
    expect(await data("/api/v1/query?query=up", defaultToken.value)).toBe(502);
    await upstream.accept();
    upstream.setMode("hang");
    expect(await data("/api/v1/query?query=up", defaultToken.value)).toBe(504);
    upstream.release();
    upstream.setMode("ok");

    // A broken projection (no upstream URL) makes the data path fail with an unhandled error,
    // which is logged: proves the log is captured, and that what it logs holds no secret.
    const broken = generateSecret();
    secrets.set("token of a broken projection", broken);
    await (await worker.kv()).put(`token:${sha256(broken)}`, JSON.stringify({ v: 1, token_id: "broken-projection", deployment_id: single.id, deployment_type: "single_node", access: "rw", concurrency: 5 }));
    expect(await data("/api/v1/query?query=up", broken)).toBe(500);

    // Change, revoke, restart, delete.
    await expectStatus(await call("PUT", `${api}/deployments/${single.id}`, { key: key.value, body: { tier: 21 } }), 200);
    await expectStatus(await call("DELETE", `${api}/deployments/${single.id}/access_tokens/${writer.id}`, { key: key.value }), 204);
    expect(await data("/api/v1/import/prometheus", writer.value, "POST")).toBe(401);
    await worker.restart();
    expect(await data("/prometheus/api/v1/query?query=up", tenant.value)).toBe(200);
    await expectStatus(await call("DELETE", `${api}/api_keys/${key.id}`, { key: boot }), 204);
    await expectStatus(await call("GET", `${api}/tiers`, { key: key.value }), 401);
    await expectStatus(await call("DELETE", `${api}/deployments/${cluster.id}`, { key: boot }), 204);
    expect(await data("/prometheus/api/v1/query?query=up", tenant.value)).toBe(401);
    await expectStatus(await call("GET", `${api}/audit?limit=1000`, { key: boot }), 200);
    // Let the limiter's idle returns and last-used writes land.
    await new Promise((r) => setTimeout(r, 1_500));

    // ---- Dump everything the run stored or said --------------------------------------------
    const db = await worker.d1();
    const tables = (await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all<{ name: string }>()).results.map((r) => r.name);
    const d1Rows: Record<string, unknown[]> = {};
    for (const t of tables) {
      if (t.startsWith("_cf") || t === "sqlite_sequence") continue;
      d1Rows[t] = (await db.prepare(`SELECT * FROM "${t}"`).all()).results;
    }
    const kv = await worker.kv();
    const kvEntries: [string, string | null][] = [];
    let cursor: string | undefined;
    do {
      const page = await kv.list({ cursor });
      for (const k of page.keys) kvEntries.push([k.name, await kv.get(k.name)]);
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    const tokenIds = (d1Rows.access_tokens as { id: string }[]).map((r) => r.id);
    const doStates: unknown[] = [];
    const ns = (await worker.durableObjects()) as unknown as { idFromName(n: string): unknown; get(id: unknown): { state(): Promise<unknown> } };
    for (const id of tokenIds) {
      try {
        doStates.push(await ns.get(ns.idFromName(id)).state());
      } catch (err) {
        doStates.push({ rpcFailed: String(err) });
      }
    }
    // Copied out of miniflare's proxies before the runtime goes away.
    const d1Json = JSON.stringify(d1Rows);
    const kvJson = JSON.stringify(kvEntries);
    const doJson = JSON.stringify(doStates);
    const d1Plain = JSON.parse(d1Json) as Record<string, Record<string, unknown>[]>;
    await worker.stop(); // flush: every write is on disk now
    const logText = readFileSync(worker.logFile, "utf8");
    const upstreamSeen = JSON.stringify([upstream, insert, select].flatMap((u) => u.arrivals()));
    const files = filesUnder(worker.stateDir).map((p) => ({ p, bytes: readFileSync(p) }));

    const haystacks: { where: string; bytes: Buffer }[] = [
      { where: "D1 rows", bytes: Buffer.from(d1Json) },
      { where: "KV keys and values", bytes: Buffer.from(kvJson) },
      { where: "Durable Object storage", bytes: Buffer.from(doJson) },
      { where: "Worker log", bytes: Buffer.from(logText) },
      { where: "requests received upstream", bytes: Buffer.from(upstreamSeen) },
      { where: "error, list and other plain answers", bytes: Buffer.from(JSON.stringify(plainAnswers)) },
      ...files.map((f) => ({ where: `state file ${f.p.slice(worker.stateDir.length)}`, bytes: f.bytes })),
    ];
    const hits: string[] = [];
    let searches = 0;
    for (const [name, secret] of secrets) {
      for (const [form, needle] of Object.entries(encodings(secret))) {
        for (const h of haystacks) {
          searches++;
          if (h.bytes.includes(needle)) hits.push(`${name} (${form}) in ${h.where}`);
        }
      }
    }
    const raw = Buffer.from(worker.tokenEncryptionKey, "base64");
    for (const h of haystacks) if (h.bytes.includes(raw)) hits.push(`TOKEN_ENCRYPTION_KEY (raw bytes) in ${h.where}`);

    figures.secrets = [...secrets.keys()];
    figures.scanned = {
      d1Rows: Object.values(d1Plain).reduce((n, rows) => n + rows.length, 0),
      d1Tables: Object.keys(d1Plain),
      kvEntries: kvEntries.length,
      durableObjects: doStates.length,
      durableObjectRpcFailures: (JSON.parse(doJson) as object[]).filter((s) => "rpcFailed" in s).length,
      logLines: logText.split("\n").length,
      upstreamRequests: [upstream, insert, select].reduce((n, u) => n + u.arrivals().length, 0),
      plainAnswers: plainAnswers.length,
      stateFiles: files.length,
      stateBytes: files.reduce((n, f) => n + f.bytes.length, 0),
      searches,
    };
    figures.hits = hits;
    expect(hits).toEqual([]);

    // Lookups go through hashes: KV keys and D1 columns hold SHA-256 of the secrets, nothing else.
    const liveHashes = new Set([secrets.get("default token"), secrets.get("token of a broken projection")].map((s) => `token:${sha256(s!)}`));
    for (const [k] of kvEntries) expect(k).toMatch(/^token:[0-9a-f]{64}$/);
    expect(kvEntries.map(([k]) => k).every((k) => liveHashes.has(k))).toBe(true);
    const hashes = new Set((d1Plain.access_tokens as { secret_hash: string }[]).map((r) => r.secret_hash));
    for (const name of ["default token", "write token", "tenant token"]) expect(hashes.has(sha256(secrets.get(name)!))).toBe(true);
    expect((d1Plain.api_keys as { key_hash: string }[]).map((r) => r.key_hash)).toEqual([sha256(secrets.get("api key")!)]);
    // The log did capture the Worker's own lines (the unhandled error above, at least).
    expect(logText).toMatch(/unhandled error/);
  }, 60_000);
});

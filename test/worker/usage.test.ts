import { createExecutionContext, evictDurableObject, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isolateUsage, shippingNamespace, sweepUsageAt } from "../../src/data/usage";
import worker from "../../src/index";
import { PermitPools } from "../../src/limiter/permit-pool";
import type { PermitResult } from "../../src/limiter/permit-result";
import type { TokenLimiter } from "../../src/limiter/token-limiter";
import { generateSecret } from "../../src/token/format";
import { UsageAccumulator } from "../../src/usage/accumulator";
import type { SparseCells } from "../../src/usage/cells";
import { singleNode, token } from "./helpers/tokens";
import { mockUpstreams, type UpstreamMock } from "./helpers/upstream";

const VM = "http://vm.usage.test";
const ns = env.TOKEN_LIMITER as unknown as DurableObjectNamespace<TokenLimiter>;

let upstream: UpstreamMock;
beforeEach(() => {
  // The upstream answers with the status the test asks for in `?status=`, or fails to connect.
  upstream = mockUpstreams({
    [VM]: async (req) => {
      const params = new URL(req.url).searchParams;
      const status = params.get("status");
      if (status === "unreachable") throw new Error("Network connection lost.");
      if (req.body) await req.arrayBuffer(); // the upload streams through (and is counted)
      const stream = params.get("stream"); // an answer of this many bytes, in 1 KiB chunks, no Content-Length
      if (stream !== null) return new Response(chunked(Number(stream)), { status: 200 });
      const sized = params.get("sized"); // an answer of this many bytes, with its Content-Length
      if (sized !== null) return new Response("y".repeat(Number(sized)), { status: 200, headers: { "content-length": sized } });
      return new Response(status === "204" ? null : "ok", { status: Number(status ?? 200) });
    },
  });
});
afterEach(() => {
  upstream.restore();
  expect(upstream.unmocked).toEqual([]);
});

/** `total` bytes as a stream of 1 KiB chunks (the last one shorter): no length the runtime can know. */
function chunked(total: number): ReadableStream<Uint8Array> {
  let left = total;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (left <= 0) return c.close();
      const n = Math.min(1024, left);
      left -= n;
      c.enqueue(new Uint8Array(n).fill(120));
    },
  });
}

async function send(secret: string, path: string, init: RequestInit = {}): Promise<{ status: number; error?: string }> {
  const ctx = createExecutionContext();
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${secret}`);
  headers.set("user-agent", "vmagent/1.0 test");
  headers.set("cf-connecting-ip", "192.0.2.7");
  const res = await worker.fetch(new Request(`http://authorizer.test${path}`, { ...init, headers }), env, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return { status: res.status, ...(res.status >= 400 && text.startsWith("{") ? { error: (JSON.parse(text) as { error: string }).error } : {}) };
}

/** The request cells (`req.<class>.<answer>`) of the token's stored total. */
async function storedRequests(tokenId: string): Promise<Record<string, number>> {
  const total = await runInDurableObject(ns.getByName(tokenId), (_i: TokenLimiter, state) => state.storage.get<{ c: SparseCells; last?: unknown }>("usage:total"));
  return Object.fromEntries(Object.entries(total?.c ?? {}).filter(([k]) => k.startsWith("req.")));
}

async function sweepAt(now: number): Promise<void> {
  const ctx = createExecutionContext();
  sweepUsageAt(env, ctx, now);
  await waitOnExecutionContext(ctx);
}

describe("per-token usage in the data path", () => {
  it("counts each class and answer exactly once, ships it to the token's object, and keeps it across a restart", async () => {
    const d = await singleNode(VM, "usage");
    const rw = await token(d.id, "rw");
    const w = await token(d.id, "w");
    const t0 = Date.now();

    expect(await send(rw.value, "/api/v1/write?status=204", { method: "POST", body: "up 1", headers: { "content-length": "4" } })).toEqual({ status: 204 });
    expect(await send(rw.value, "/api/v1/query?query=up")).toEqual({ status: 200 });
    expect(await send(rw.value, "/api/v1/query?query=up&status=400")).toMatchObject({ status: 400 });
    expect(await send(rw.value, "/api/v1/query?query=up&status=503")).toMatchObject({ status: 503 });
    expect(await send(rw.value, "/api/v1/admin/tsdb/delete_series?match[]=up&status=204", { method: "POST" })).toEqual({ status: 204 });
    expect(await send(rw.value, "/api/v1/query?query=up&status=unreachable")).toEqual({ status: 502, error: "bad_gateway" });
    expect(await send(rw.value, "/api/v1/admin/tsdb/snapshot/create")).toMatchObject({ status: 403 });
    expect(await send(rw.value, "/no/such/api")).toMatchObject({ status: 404, error: "unknown_path" });
    const big = "x".repeat(1024 * 1024 + 1); // MAX_BODY_BYTES is 1 MiB in the tests
    expect(await send(rw.value, "/api/v1/write", { method: "POST", body: big, headers: { "content-length": String(big.length) } })).toEqual({ status: 413, error: "payload_too_large" });
    expect(await send(w.value, "/api/v1/query?query=up")).toEqual({ status: 403, error: "insufficient_access" });
    // Refusals that name no token are not counted per token.
    expect(await send(generateSecret(), "/api/v1/query?query=up")).toMatchObject({ status: 401 });
    expect(isolateUsage().size).toBe(2);

    // Nothing is shipped before the interval; the sweep then ships both tokens, one call each.
    await sweepAt(t0 + 1_000);
    expect(await storedRequests(rw.id)).toEqual({});
    await sweepAt(t0 + 61_000);
    const forbidden = (await send(rw.value, "/api/v1/admin/tsdb/snapshot/create")).error; // counted in the next batch
    const rwExpected = {
      "req.write.2xx": 1,
      "req.read.2xx": 1,
      "req.read.4xx": 1,
      "req.read.5xx": 1,
      "req.delete.2xx": 1,
      "req.read.bad_gateway": 1,
      [`req.other.${forbidden}`]: 1,
      "req.other.unknown_path": 1,
      "req.write.payload_too_large": 1,
    };
    expect(await storedRequests(rw.id)).toEqual(rwExpected);
    expect(await storedRequests(w.id)).toEqual({ "req.read.insufficient_access": 1 }); // refused, counted as what it tried
    const total = await runInDurableObject(ns.getByName(rw.id), (_i: TokenLimiter, state) => state.storage.get<{ c: SparseCells; last?: Record<string, unknown> }>("usage:total"));
    expect(total?.c["bytes.in"]).toBe(4 + big.length);
    expect(total?.last).toMatchObject({ address: "192.0.2.7", userAgent: "vmagent/1.0 test" });

    // A restart of the object loses nothing; the next batch adds to it, and nothing counts twice.
    await evictDurableObject(ns.getByName(rw.id));
    await sweepAt(t0 + 122_000);
    expect(await storedRequests(rw.id)).toEqual({ ...rwExpected, [`req.other.${forbidden}`]: 2 });
    await sweepAt(t0 + 183_000); // nothing left to ship
    expect(await storedRequests(rw.id)).toEqual({ ...rwExpected, [`req.other.${forbidden}`]: 2 });
  });

  it("counts the bytes of bodies without a Content-Length as they stream, and those with one once", async () => {
    const d = await singleNode(VM, "usage-bytes");
    const t = await token(d.id, "rw");
    const t0 = Date.now();
    // A chunked upload (no Content-Length) answered 204, and a streamed answer of 2.5 KiB.
    expect(await send(t.value, "/api/v1/import/prometheus?status=204", { method: "POST", body: chunked(3_000) })).toEqual({ status: 204 });
    expect(await send(t.value, "/api/v1/export?match[]=up&stream=2560", { method: "POST" })).toEqual({ status: 200 });
    // Answers with a Content-Length (what VictoriaMetrics sends for a query) are piped by the runtime and counted by their length, once.
    const sized = 1024 * 1024 + 10;
    expect(await send(t.value, `/api/v1/query?query=up&sized=${sized}`)).toEqual({ status: 200 });
    expect(await send(t.value, "/api/v1/query?query=up&sized=100", { method: "HEAD" })).toEqual({ status: 200 }); // no body: no bytes
    expect(await send(t.value, "/api/v1/query?query=up&sized=100")).toEqual({ status: 200 }); // piped by the runtime: counted by its length
    await sweepAt(t0 + 61_000);
    const total = await runInDurableObject(ns.getByName(t.id), (_i: TokenLimiter, state) => state.storage.get<{ c: SparseCells }>("usage:total"));
    expect(total?.c).toMatchObject({ "req.write.2xx": 1, "req.read.2xx": 4, "bytes.in": 3_000, "bytes.out": 2_560 + sized + 100 });
  });

  it("rides a hand-back lease call, and the object applies each batch once across isolates, replays and a restart", async () => {
    const d = await singleNode(VM, "usage-ship");
    const t = await token(d.id, "rw");
    const now = Date.now();
    // This isolate: counts ride the idle return (want 0) of the wrapped namespace.
    isolateUsage().record(t.id, { at: now, class: "read", answer: "2xx" });
    const grant = await shippingNamespace(env.TOKEN_LIMITER)
      .getByName(t.id)
      .lease({ tokenId: t.id, holder: "iso-test-a", want: 0, limit: 2, ttlMs: 10_000, used: 1 });
    expect(grant).toMatchObject({ revoked: false, usage: "applied" });
    expect(await storedRequests(t.id)).toEqual({ "req.read.2xx": 1 });

    // Another isolate ships a batch whose answer was lost: it resends it, and once more after a restart.
    const b = new UsageAccumulator("iso-test-b");
    b.record(t.id, { at: now, class: "write", answer: "2xx" });
    b.record(t.id, { at: now, class: "write", answer: "too_many_requests" });
    const shipment = b.drain(t.id, now)!;
    expect(await ns.getByName(t.id).ship(shipment)).toBe("applied");
    b.putBack(shipment);
    const again = b.drain(t.id, now)!;
    expect(again.batches.map((x) => x.seq)).toEqual(shipment.batches.map((x) => x.seq));
    expect(await ns.getByName(t.id).ship(again)).toBe("applied");
    await evictDurableObject(ns.getByName(t.id));
    expect((await ns.getByName(t.id).lease({ tokenId: t.id, holder: "iso-test-b", want: 1, limit: 2, ttlMs: 10_000, used: 0, usage: again })).usage).toBe("applied");
    expect(await storedRequests(t.id)).toEqual({ "req.read.2xx": 1, "req.write.2xx": 1, "req.write.too_many_requests": 1 });

    // A shipment for another token, or malformed, is refused without failing the lease.
    const other = { ...again, tokenId: "someone-else" };
    const refused = await ns.getByName(t.id).lease({ tokenId: t.id, holder: "iso-test-b", want: 1, limit: 2, ttlMs: 10_000, used: 0, usage: other });
    expect(refused).toMatchObject({ granted: 1, usage: "refused" });
    expect(await ns.getByName(t.id).ship({ nonsense: true })).toBe("refused");
    expect(await storedRequests(t.id)).toEqual({ "req.read.2xx": 1, "req.write.2xx": 1, "req.write.too_many_requests": 1 });
  });

  it("two PermitPools isolates ship on their lease calls; each count lands once, across a restart of the object", async () => {
    const tokenId = `tok_${crypto.randomUUID()}`;
    const ctx = createExecutionContext();
    const waitUntil = (p: Promise<unknown>) => ctx.waitUntil(p);
    const isolates = ["a", "b"].map((name) => {
      const usage = new UsageAccumulator(`iso-pool-${name}`);
      return { usage, pools: new PermitPools(`holder-${name}`), ns: shippingNamespace(env.TOKEN_LIMITER, usage) };
    });
    const permit = (r: PermitResult) => {
      if (!r.ok) throw new Error(`no permit: ${r.reason}`);
      return r.permit;
    };
    // Counts older than the shipping interval are due: the next lease call of each isolate carries them.
    const old = Date.now() - 61_000;
    const [a, b] = isolates as [(typeof isolates)[0], (typeof isolates)[0]];
    a.usage.record(tokenId, { at: old, class: "write", answer: "2xx" });
    a.usage.record(tokenId, { at: old, class: "write", answer: "gateway_timeout" });
    b.usage.record(tokenId, { at: old, class: "read", answer: "2xx" });
    b.usage.record(tokenId, { at: old, class: "read", answer: "too_many_requests" });
    permit(await a.pools.acquire(a.ns, tokenId, 4, waitUntil)).release();
    permit(await b.pools.acquire(b.ns, tokenId, 4, waitUntil)).release();
    // Acknowledged: nothing is left to ship from either isolate.
    expect(a.usage.drain(tokenId, Date.now())).toBeUndefined();
    expect(b.usage.drain(tokenId, Date.now())).toBeUndefined();
    const first = { "req.write.2xx": 1, "req.write.gateway_timeout": 1, "req.read.2xx": 1, "req.read.too_many_requests": 1 };
    expect(await storedRequests(tokenId)).toEqual(first);

    await evictDurableObject(ns.getByName(tokenId));
    a.usage.record(tokenId, { at: old, class: "delete", answer: "4xx" });
    // After the restart, the rows are back and a new batch adds to them.
    const later = await a.ns.getByName(tokenId).lease({ tokenId, holder: "holder-a", want: 0, limit: 4, ttlMs: 10_000, used: 0 });
    expect(later.usage).toBe("applied");
    expect(await storedRequests(tokenId)).toEqual({ ...first, "req.delete.4xx": 1 });
    // Without counts, a lease call carries nothing.
    expect((await b.ns.getByName(tokenId).lease({ tokenId, holder: "holder-b", want: 0, limit: 4, ttlMs: 10_000, used: 0 })).usage).toBeUndefined();
    await waitOnExecutionContext(ctx);
    isolates.forEach((i) => i.pools.reset());
  });
});

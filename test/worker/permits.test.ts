import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { permitPoolStats } from "../../src/limiter/isolate-permits";
import { PermitPools } from "../../src/limiter/permit-pool";
import type { TokenLimiter } from "../../src/limiter/token-limiter";
import { loadTokenRecord, tokenKvKey } from "../../src/store/token-projection";
import { hashSecret } from "../../src/token/crypto";
import { cluster, singleNode, smallestTier, token } from "./helpers/tokens";
import { gatedResponse, mockUpstreams, type UpstreamMock } from "./helpers/upstream";

/**
 * Permit lifetime through the whole data path: a permit is held until the response body is fully
 * sent or the transfer dies, and a holder that vanished frees its permits at the lease deadline.
 */
const VM = "http://vm.permits.test";
let upstream: UpstreamMock;
let gates: ReturnType<typeof gatedResponse>[];
let limit: number;

beforeEach(async () => {
  gates = [];
  limit = (await smallestTier("single_node")).access_token_concurrent_requests;
  upstream = mockUpstreams({
    [VM]: () => {
      const gate = gatedResponse();
      gates.push(gate);
      return gate.response;
    },
  });
});

afterEach(() => {
  for (const gate of gates) gate.finish();
  upstream.restore();
  expect(upstream.unmocked).toEqual([]);
});

function query(secret: string): Promise<Response> {
  return exports.default.fetch("http://authorizer.test/api/v1/query?query=up", { headers: { authorization: `Bearer ${secret}` } });
}

/**
 * An export: the one kind of answer relayed with a watch on upstream silence (forward.ts). Every
 * other answer is piped by the runtime within the request's timeout; that pipe's stall and abort
 * with a real upstream body are in test/hardening/real-socket.node.test.ts (the mocks here are
 * JavaScript streams, whose pending read a pipe's signal does not interrupt).
 */
function exportSeries(secret: string): Promise<Response> {
  return exports.default.fetch("http://authorizer.test/api/v1/export?match[]=up", { headers: { authorization: `Bearer ${secret}` } });
}

async function fillToLimit(secret: string): Promise<Response[]> {
  const responses = await Promise.all(Array.from({ length: limit }, () => query(secret)));
  for (const res of responses) expect(res.status).toBe(200);
  return responses;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("concurrency permits on the data path", () => {
  it("429 with Retry-After past the limit, and the upstream never sees more than the limit in flight", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    const held = await fillToLimit(t.value);
    const refused = await query(t.value);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(((await refused.json()) as { message: string }).message).toMatch(new RegExp(`limit of ${limit}`));
    expect(upstream.calls).toHaveLength(limit);
    expect(held).toHaveLength(limit); // reachable until here, so none is collected and cancelled early
  });

  it("frees the permit once a successful response body has been fully read", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    const responses = await fillToLimit(t.value);
    gates[0]!.finish();
    expect(await responses[0]!.text()).toBe("partial done");
    await until(() => permitPoolStats(t.id)?.inUse === limit - 1, "release after success");
    expect((await query(t.value)).status).toBe(200);
  });

  it("does not free the permit when only the headers have arrived", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    const responses = await fillToLimit(t.value);
    await new Promise((r) => setTimeout(r, 50));
    expect(permitPoolStats(t.id)?.inUse).toBe(limit);
    // Keep the responses reachable until here: a response the client drops is a client gone,
    // and the runtime may collect it and cancel its body, which rightly frees the permit.
    gates.forEach((g) => g.finish());
    await Promise.all(responses.map((r) => r.text()));
  });

  it("frees the permit when the upstream resets mid-response", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    const responses = await fillToLimit(t.value);
    gates[0]!.fail();
    await expect(responses[0]!.text()).rejects.toThrow();
    await until(() => permitPoolStats(t.id)?.inUse === limit - 1, "release after upstream reset");
    expect((await query(t.value)).status).toBe(200);
  });

  it("frees the permit when the upstream answers with an error status", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    upstream.restore();
    upstream = mockUpstreams({ [VM]: () => new Response("boom", { status: 503 }) });
    const res = await query(t.value);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe("boom");
    await until(() => permitPoolStats(t.id)?.inUse === 0, "release after upstream error status");
  });

  it("frees the permit when the upstream cannot be reached (502)", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    upstream.restore();
    upstream = mockUpstreams({ [VM]: () => Promise.reject(new TypeError("connection refused")) });
    expect((await query(t.value)).status).toBe(502);
    expect(permitPoolStats(t.id)?.inUse).toBe(0);
  });

  it("frees the permit when the upstream stalls mid-body past the timeout (an export)", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    const res = await exportSeries(t.value);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    await until(() => permitPoolStats(t.id)?.inUse === 0, "release after a stalled upstream body");
  });

  it("never cuts a client that reads an export slowly: the stall guard watches the upstream only", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    const res = await exportSeries(t.value);
    gates[0]!.finish(); // the upstream has everything ready at once
    // The client reads nothing for three timeout periods (UPSTREAM_TIMEOUT_MS is 500 ms here).
    await new Promise((r) => setTimeout(r, 1_500));
    expect(permitPoolStats(t.id)?.inUse).toBe(1);
    expect(await res.text()).toBe("partial done");
    await until(() => permitPoolStats(t.id)?.inUse === 0, "release after a slow read");
  });

  // Every spelling of an export or federation keeps the watched relay, on a cluster too.
  it.each([
    ["single-node", "/api/v1/export/csv?match[]=up&format=__name__"],
    ["single-node", "/api/v1/export/native?match[]=up"],
    ["single-node", "/prometheus/api/v1/export?match[]=up"],
    ["single-node", "/federate?match[]=up"],
    ["cluster", "/select/7/prometheus/api/v1/export/native?match[]=up"],
    ["cluster", "/select/7/prometheus/federate?match[]=up"],
  ])("a slow reader of %s %s is not cut (watched relay)", async (type, path) => {
    const d = type === "cluster" ? await cluster(VM, VM) : await singleNode(VM);
    const t = await token(d.id, "r");
    const res = await exports.default.fetch(`http://authorizer.test${path}`, { headers: { authorization: `Bearer ${t.value}` } });
    expect(res.status).toBe(200);
    gates[0]!.finish();
    await new Promise((r) => setTimeout(r, 1_500)); // three timeout periods without reading
    expect(permitPoolStats(t.id)?.inUse).toBe(1);
    expect(await res.text()).toBe("partial done");
    await until(() => permitPoolStats(t.id)?.inUse === 0, "release after a slow read");
  });

  it("a query answer is delivered within the timeout or cut: a client reading nothing past it frees the permit", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    const res = await query(t.value);
    expect(res.status).toBe(200);
    gates[0]!.finish(); // the upstream has everything ready at once; the client does not read
    await until(() => permitPoolStats(t.id)?.inUse === 0, "release at the timeout of a piped answer");
    await expect(res.text()).rejects.toThrow();
  });

  it("frees the permit when the client aborts the download (an export)", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    const responses = await Promise.all(Array.from({ length: limit }, () => exportSeries(t.value)));
    for (const res of responses) expect(res.status).toBe(200);
    // Every upstream body complete, none read: the watched relay holds each permit until its client
    // reads or leaves (the slow-reader tests above), so only the cancel can free one.
    for (const gate of gates) gate.finish();
    await responses[0]!.body!.cancel("client went away");
    await until(() => permitPoolStats(t.id)?.inUse === limit - 1, "release after client abort");
    expect((await query(t.value)).status).toBe(200);
  });

  it("frees the permit when the client aborts a piped download", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    const responses = await fillToLimit(t.value);
    gates[0]!.finish(); // a JavaScript source must have its chunk ready for the pipe to see the cancel
    await responses[0]!.body!.cancel("client went away");
    await until(() => permitPoolStats(t.id)?.inUse === limit - 1, "release after client abort");
    expect((await query(t.value)).status).toBe(200);
  });

  it("frees the permits of an isolate that vanished once its lease expires, and the alarm sweeps it", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    const ns = env.TOKEN_LIMITER as unknown as DurableObjectNamespace<TokenLimiter>;
    // Another isolate takes every permit, then dies without returning them.
    const crashed = new PermitPools("crashed-isolate");
    for (let i = 0; i < limit; i++) {
      expect((await crashed.acquire(ns, t.id, limit, () => {})).ok).toBe(true);
    }
    crashed.reset();
    const refused = await query(t.value);
    expect(refused.status).toBe(429); // after the bounded wait: nothing was released
    // The object's time moves past the lease deadline (10 s), without the test sleeping.
    const stub = ns.getByName(t.id);
    const later = Date.now() + 11_000;
    await runInDurableObject(stub, (instance: TokenLimiter) => {
      instance.clock = () => later;
    });
    const res = await query(t.value);
    expect(res.status).toBe(200);
    await runDurableObjectAlarm(stub);
    const state = (await stub.state()) as unknown as { leases: Record<string, unknown> | { holder: string }[] };
    expect(JSON.stringify(state.leases)).not.toContain("crashed-isolate");
  });
});

describe("the wait for a permit, per tier", () => {
  async function setTierWait(ms: number | null): Promise<void> {
    const tier = await smallestTier("single_node");
    await env.DB.prepare("UPDATE tiers SET access_token_max_wait_ms = ?1 WHERE id = ?2").bind(ms, tier.id).run();
  }
  afterEach(() => setTierWait(null)); // the seeded tiers set no wait of their own

  // What a waiting request sees, sampled while it is pending (a wait shows as a queued acquire).
  async function mostQueuedWhile(pending: Promise<Response>, tokenId: string): Promise<{ res: Response; mostQueued: number }> {
    let settled = false;
    let mostQueued = 0;
    const done = pending.finally(() => (settled = true));
    while (!settled) {
      mostQueued = Math.max(mostQueued, permitPoolStats(tokenId)?.waiting ?? 0);
      await new Promise((r) => setTimeout(r, 1));
    }
    return { res: await done, mostQueued };
  }

  it("a tier that waits 0 ms refuses past the limit at once, never queueing (the Worker's default here waits 200 ms)", async () => {
    await setTierWait(0);
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    const held = await fillToLimit(t.value);
    const { res, mostQueued } = await mostQueuedWhile(query(t.value), t.id);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await res.json()) as { error: string }).error).toBe("too_many_requests");
    expect(mostQueued).toBe(0);
    expect(upstream.calls).toHaveLength(limit);
    expect(held).toHaveLength(limit);
  });

  // A tier that waits longer than the Worker's default, admitting a request once another's permit
  // comes back: test/e2e/permit-wait.e2e.ts. In this pool a waiter woken by another request's
  // release fails with "Cannot perform I/O on behalf of a different request"; workerd run by
  // miniflare admits it.

  it("the tier's wait is in every token projection, and not in the tier the API lists (VictoriaMetrics Cloud clients refuse unknown fields)", async () => {
    await setTierWait(300);
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    expect(await smallestTier("single_node")).not.toHaveProperty("access_token_max_wait_ms");
    const hash = await hashSecret(t.value);
    // The KV projection written at creation, and the D1 fallback a KV miss reads.
    expect(await env.TOKENS_KV.get(tokenKvKey(hash), "json")).toMatchObject({ token_id: t.id, max_wait_ms: 300 });
    expect(await loadTokenRecord(env.DB, hash)).toMatchObject({ token_id: t.id, max_wait_ms: 300 });
  });
});

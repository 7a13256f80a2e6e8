import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { acquirePermit, expireToken, forgetToken, permitPoolStats, revokeToken } from "../../src/limiter/isolate-permits";
import { PermitPools } from "../../src/limiter/permit-pool";
import type { Permit, PermitResult } from "../../src/limiter/permit-result";
import type { TokenLimiter } from "../../src/limiter/token-limiter";

const ns = env.TOKEN_LIMITER as DurableObjectNamespace<TokenLimiter>;
const newTokenId = () => `tok_${crypto.randomUUID()}`;

function permitOf(r: PermitResult): Permit {
  if (!r.ok) throw new Error(`expected a permit, got ${r.reason}`);
  return r.permit;
}

let ctx: ExecutionContext;
const waitUntil = (p: Promise<unknown>) => ctx.waitUntil(p);

// Every test uses a token id of its own, so the isolate's pools from earlier tests do not matter.
beforeEach(() => {
  ctx = createExecutionContext();
});

describe("permit pool against the real TokenLimiter", () => {
  it("leases a batch once and serves the next acquires locally", async () => {
    const tokenId = newTokenId();
    const a = permitOf(await acquirePermit(ns, tokenId, 10, waitUntil));
    const b = permitOf(await acquirePermit(ns, tokenId, 10, waitUntil));
    const state = await ns.getByName(tokenId).state();
    expect(state.usage.leaseCalls).toBe(1);
    expect(state.leases).toHaveLength(1);
    expect(state.leases[0]?.permits).toBe(2);
    expect(state.tokenId).toBe(tokenId);
    expect(permitPoolStats(tokenId)).toEqual({ held: 2, inUse: 2, waiting: 0, revoked: false });
    a.release();
    b.release();
  });

  it("two isolates together never get more than the limit", async () => {
    const tokenId = newTokenId();
    const isolateA = new PermitPools("isolate-a");
    const isolateB = new PermitPools("isolate-b");
    const held = [permitOf(await isolateA.acquire(ns, tokenId, 3, waitUntil)), permitOf(await isolateA.acquire(ns, tokenId, 3, waitUntil))];
    held.push(permitOf(await isolateB.acquire(ns, tokenId, 3, waitUntil)));
    expect(await isolateB.acquire(ns, tokenId, 3, waitUntil, { maxWaitMs: 0 })).toEqual({ ok: false, reason: "limit", retryAfterSeconds: 1 });
    expect(await isolateA.acquire(ns, tokenId, 3, waitUntil, { maxWaitMs: 0 })).toMatchObject({ ok: false, reason: "limit" });
    expect((await ns.getByName(tokenId).state()).leasedPermits).toBe(3);
    held.forEach((p) => p.release());
    isolateA.reset();
    isolateB.reset();
  });

  it("uncontended, keeps an idle lease without a call; the next request's check-in reports the use", async () => {
    const tokenId = newTokenId();
    let now = Date.now();
    const isolate = new PermitPools("isolate-sparse", {}, () => now);
    permitOf(await isolate.acquire(ns, tokenId, 10, waitUntil)).release();
    await waitOnExecutionContext(ctx);
    let state = await ns.getByName(tokenId).state();
    expect(state.usage.leaseCalls).toBe(1); // no return call
    expect(state.leasedPermits).toBe(2);
    now += 3_000; // the next request, a few seconds later, checks in
    permitOf(await isolate.acquire(ns, tokenId, 10, waitUntil)).release();
    state = await ns.getByName(tokenId).state();
    expect(state.usage).toMatchObject({ leaseCalls: 2, requests: 1 }); // one call per request
    isolate.reset();
  });

  it("contended, hands spare permits back right after the release", async () => {
    const tokenId = newTokenId();
    const isolate = new PermitPools("isolate-busy");
    permitOf(await isolate.acquire(ns, tokenId, 2, waitUntil)).release(); // a lease of the whole limit: contended
    await waitOnExecutionContext(ctx);
    const state = await ns.getByName(tokenId).state();
    expect(state.leases).toEqual([]);
    expect(state.usage).toMatchObject({ leaseCalls: 2, requests: 1 });
    isolate.reset();
  });

  it("an acquire past the limit waits for the permit another request releases, instead of a 429", async () => {
    const tokenId = newTokenId();
    const isolate = new PermitPools("isolate-waiting");
    const first = permitOf(await isolate.acquire(ns, tokenId, 1, waitUntil));
    const second = isolate.acquire(ns, tokenId, 1, waitUntil);
    while (isolate.stats(tokenId)?.waiting !== 1) await new Promise((resolve) => setTimeout(resolve, 1));
    first.release();
    permitOf(await second).release();
    expect((await ns.getByName(tokenId).state()).leasedPermits).toBeLessThanOrEqual(1);
    isolate.reset();
  });

  it("revokeToken refuses at once in this isolate, without another DO call", async () => {
    const tokenId = newTokenId();
    const inFlight = permitOf(await acquirePermit(ns, tokenId, 10, waitUntil));
    await revokeToken(ns, tokenId);
    const before = (await ns.getByName(tokenId).state()).usage.leaseCalls;
    expect(await acquirePermit(ns, tokenId, 10, waitUntil)).toMatchObject({ ok: false, reason: "revoked" });
    expect(await acquirePermit(ns, tokenId, 10, waitUntil)).toMatchObject({ ok: false, reason: "revoked" });
    const state = await ns.getByName(tokenId).state();
    expect(state.usage.leaseCalls).toBe(before);
    expect(state).toMatchObject({ revoked: true, leases: [] });
    inFlight.release(); // a request already under way finishes normally
    expect(permitPoolStats(tokenId)).toEqual({ held: 0, inUse: 0, waiting: 0, revoked: true });
  });

  it("forgetToken alone refuses locally without touching the DO", async () => {
    const tokenId = newTokenId();
    permitOf(await acquirePermit(ns, tokenId, 10, waitUntil)).release();
    forgetToken(tokenId);
    expect(await acquirePermit(ns, tokenId, 10, waitUntil)).toMatchObject({ ok: false, reason: "revoked" });
    expect((await ns.getByName(tokenId).state()).revoked).toBe(false);
  });

  it("another isolate learns of the revocation at its next check-in", async () => {
    const tokenId = newTokenId();
    let now = Date.now();
    const other = new PermitPools("isolate-other", {}, () => now);
    permitOf(await other.acquire(ns, tokenId, 10, waitUntil)).release();
    await revokeToken(ns, tokenId); // in "this" isolate
    now += 999;
    expect((await other.acquire(ns, tokenId, 10, waitUntil)).ok).toBe(true); // within the bound: still from its lease
    now += 1; // one check-in interval after its lease
    expect(await other.acquire(ns, tokenId, 10, waitUntil)).toMatchObject({ ok: false, reason: "revoked" });
    expect(other.stats(tokenId)).toMatchObject({ held: 0, revoked: true });
    other.reset();
  });

  it("another isolate learns of a rotation's expiry at its first check-in after it, and says when it expired", async () => {
    const tokenId = newTokenId();
    let now = Date.now();
    const other = new PermitPools("isolate-rotated", {}, () => now);
    permitOf(await other.acquire(ns, tokenId, 10, waitUntil)).release();
    const at = Date.now(); // a rotation with overlap 0: due at once for the object
    await expireToken(ns, tokenId, at);
    now += 999;
    expect((await other.acquire(ns, tokenId, 10, waitUntil)).ok).toBe(true); // within the bound: still from its lease
    now += 1; // one check-in interval after its lease
    expect(await other.acquire(ns, tokenId, 10, waitUntil)).toEqual({ ok: false, reason: "revoked", retryAfterSeconds: 0, expiredAt: at });
    expect(await other.acquire(ns, tokenId, 10, waitUntil)).toMatchObject({ ok: false, reason: "revoked", expiredAt: at });
    other.reset();
  });
});

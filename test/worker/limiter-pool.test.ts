import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type Permit,
  type PermitResult,
  PermitPools,
  acquirePermit,
  forgetToken,
  permitPoolStats,
  resetPermitPools,
  revokeToken,
  setPermitPoolTimings,
} from "../../src/limiter/permit-pool";
import type { TokenLimiter } from "../../src/limiter/token-limiter";

const ns = env.TOKEN_LIMITER as DurableObjectNamespace<TokenLimiter>;
const newTokenId = () => `tok_${crypto.randomUUID()}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function permitOf(r: PermitResult): Permit {
  if (!r.ok) throw new Error(`expected a permit, got ${r.reason}`);
  return r.permit;
}

let ctx: ExecutionContext;
const waitUntil = (p: Promise<unknown>) => ctx.waitUntil(p);

beforeEach(() => {
  resetPermitPools();
  ctx = createExecutionContext();
});
afterEach(() => resetPermitPools());

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
    expect(permitPoolStats(tokenId)).toEqual({ held: 2, inUse: 2, revoked: false });
    a.release();
    b.release();
  });

  it("two isolates together never get more than the limit", async () => {
    const tokenId = newTokenId();
    const isolateA = new PermitPools("isolate-a");
    const isolateB = new PermitPools("isolate-b");
    const held = [permitOf(await isolateA.acquire(ns, tokenId, 3, waitUntil)), permitOf(await isolateA.acquire(ns, tokenId, 3, waitUntil))];
    held.push(permitOf(await isolateB.acquire(ns, tokenId, 3, waitUntil)));
    expect(await isolateB.acquire(ns, tokenId, 3, waitUntil)).toEqual({ ok: false, reason: "limit", retryAfterSeconds: 1 });
    expect(await isolateA.acquire(ns, tokenId, 3, waitUntil)).toMatchObject({ ok: false, reason: "limit" });
    expect((await ns.getByName(tokenId).state()).leasedPermits).toBe(3);
    held.forEach((p) => p.release());
    isolateA.reset();
    isolateB.reset();
  });

  it("hands an idle lease back to the DO after the idle delay", async () => {
    const tokenId = newTokenId();
    permitOf(await acquirePermit(ns, tokenId, 10, waitUntil)).release();
    expect((await ns.getByName(tokenId).state()).leasedPermits).toBe(2);
    await waitOnExecutionContext(ctx);
    const state = await ns.getByName(tokenId).state();
    expect(state.leases).toEqual([]);
    expect(state.usage.requests).toBe(1);
    expect(permitPoolStats(tokenId)).toBeUndefined();
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
    expect(permitPoolStats(tokenId)).toEqual({ held: 0, inUse: 0, revoked: true });
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
    setPermitPoolTimings({ checkInMs: 50 });
    const other = new PermitPools("isolate-other");
    other.setTimings({ checkInMs: 50 });
    permitOf(await other.acquire(ns, tokenId, 10, waitUntil)).release();
    await revokeToken(ns, tokenId); // in "this" isolate
    await sleep(60);
    expect(await other.acquire(ns, tokenId, 10, waitUntil)).toMatchObject({ ok: false, reason: "revoked" });
    expect(other.stats(tokenId)).toMatchObject({ held: 0, revoked: true });
    other.reset();
  });
});

import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { LeaseRequest } from "../../src/limiter/lease-ledger";
import type { TokenLimiter } from "../../src/limiter/token-limiter";
import { singleNode, token } from "./helpers/tokens";

const ns = env.TOKEN_LIMITER as DurableObjectNamespace<TokenLimiter>;

function limiter() {
  const tokenId = `tok_${crypto.randomUUID()}`;
  return { tokenId, stub: ns.getByName(tokenId) };
}

function req(holder: string, want: number, extra: Partial<LeaseRequest> = {}): LeaseRequest {
  return { holder, want, limit: 5, ttlMs: 10_000, used: 0, ...extra };
}

/** Drives the object's clock: time moves only when the test says so, however busy the machine. */
async function setClock(stub: DurableObjectStub<TokenLimiter>, now: number): Promise<void> {
  await runInDurableObject(stub, (instance: TokenLimiter) => {
    instance.clock = () => now;
  });
}

async function storedLeaseKeys(stub: DurableObjectStub<TokenLimiter>): Promise<string[]> {
  return runInDurableObject(stub, async (_instance: TokenLimiter, state) => [...(await state.storage.list({ prefix: "lease:" })).keys()]);
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 4_000): Promise<T> { // within the 5 s test timeout; room for a loaded machine
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("TokenLimiter: leases", () => {
  it("keeps the sum of two holders' leases exactly within the limit", async () => {
    const { stub } = limiter();
    expect(await stub.lease(req("a", 3))).toMatchObject({ granted: 3, revoked: false, contended: false });
    expect(await stub.lease(req("b", 4))).toMatchObject({ granted: 2, revoked: false, contended: true });
    expect(await stub.lease(req("b", 4))).toMatchObject({ granted: 2 }); // nothing freed yet
    expect(await stub.lease(req("a", 1))).toMatchObject({ granted: 1 }); // a hands back two
    expect(await stub.lease(req("b", 4))).toMatchObject({ granted: 4 });
    expect(await stub.lease(req("c", 1))).toMatchObject({ granted: 0, contended: true });
    const state = await stub.state();
    expect(state.leasedPermits).toBe(5);
    // c got nothing but is remembered, holding 0, so the fair shares leave room for it (INTEREST_TTL_MS).
    expect(Object.fromEntries(state.leases.map((l) => [l.holder, l.permits]))).toEqual({ a: 1, b: 4, c: 0 });
  });

  it("sets a deadline on each lease and drops the lease on want 0", async () => {
    const { stub } = limiter();
    const before = Date.now();
    const grant = await stub.lease(req("a", 2, { ttlMs: 10_000 }));
    expect(grant.expiresAt).toBeGreaterThanOrEqual(before + 10_000);
    expect(await storedLeaseKeys(stub)).toEqual(["lease:a"]);
    expect(await stub.lease(req("a", 0))).toEqual({ granted: 0, expiresAt: 0, revoked: false, contended: false });
    expect(await storedLeaseKeys(stub)).toEqual([]);
    expect((await stub.state()).leases).toEqual([]);
  });

  it("refuses malformed lease requests", async () => {
    const { stub } = limiter();
    // Called on the instance, not over RPC: under the vitest plugin every rejecting DO RPC also
    // reports an unhandled rejection even when the test handles it (workers-sdk issue 14736).
    await runInDurableObject(stub, async (instance: TokenLimiter) => {
      await expect(instance.lease(req("a", -1))).rejects.toThrow(/invalid lease request: want/);
      await expect(instance.lease(req("", 1))).rejects.toThrow(/holder/);
      await expect(instance.lease(req("a", 1, { ttlMs: 3_600_000 }))).rejects.toThrow(/ttlMs/);
    });
    expect((await stub.state()).leases).toEqual([]);
  });
});

describe("TokenLimiter: revocation", () => {
  it("refuses every lease after revoke, drops existing leases, and remembers it across restarts", async () => {
    const { stub, tokenId } = limiter();
    expect((await stub.lease(req("a", 3))).granted).toBe(3);
    await stub.revoke(tokenId);
    expect(await stub.lease(req("a", 1))).toEqual({ granted: 0, expiresAt: 0, revoked: true, contended: false });
    expect(await stub.lease(req("b", 1))).toMatchObject({ granted: 0, revoked: true });
    expect(await storedLeaseKeys(stub)).toEqual([]);
    const stored = await runInDurableObject(stub, (_i: TokenLimiter, state) => state.storage.get("revoked"));
    expect(stored).toBe(true);
    // A fresh instance reads the flag back from storage.
    await evictDurableObject(stub);
    expect(await ns.getByName(tokenId).lease(req("a", 1))).toMatchObject({ granted: 0, revoked: true });
    expect((await ns.getByName(tokenId).state()).revoked).toBe(true);
  });
});

describe("TokenLimiter: a rotation's expiry", () => {
  it("grants until the expiry, then answers every lease as expired at that instant, across restarts", async () => {
    const { stub, tokenId } = limiter();
    const t0 = Date.now();
    await setClock(stub, t0);
    await stub.expire(t0 + 60_000, tokenId);
    expect((await stub.lease(req("a", 2))).granted).toBe(2);
    await setClock(stub, t0 + 60_000);
    expect(await stub.lease(req("a", 1))).toEqual({ granted: 0, expiresAt: 0, revoked: true, contended: false, expiredAt: t0 + 60_000 });
    expect(await stub.lease(req("b", 1))).toMatchObject({ granted: 0, revoked: true, expiredAt: t0 + 60_000 });
    expect(await storedLeaseKeys(stub)).toEqual([]); // the refused holder's lease is gone
    await evictDurableObject(stub);
    const fresh = ns.getByName(tokenId);
    await setClock(fresh, t0 + 60_001);
    expect(await fresh.lease(req("c", 1))).toMatchObject({ granted: 0, revoked: true, expiredAt: t0 + 60_000 });
    expect(await fresh.state()).toMatchObject({ expiresAt: t0 + 60_000, revoked: false });
  });

  it("never moves an expiry later", async () => {
    const { stub, tokenId } = limiter();
    const t0 = Date.now();
    await stub.expire(t0 + 1_000, tokenId);
    await stub.expire(t0 + 3_600_000, tokenId);
    expect((await stub.state()).expiresAt).toBe(t0 + 1_000);
  });
});

describe("TokenLimiter: expiry", () => {
  it("an alarm sweeps leases whose holder stopped renewing, freeing their permits", async () => {
    const { stub } = limiter();
    const t0 = Date.now();
    await setClock(stub, t0);
    await stub.lease(req("vanished", 4, { ttlMs: 1_000 }));
    await stub.lease(req("alive", 1, { ttlMs: 10_000 }));
    expect(await runInDurableObject(stub, (_i: TokenLimiter, state) => state.storage.getAlarm())).not.toBeNull();
    expect((await stub.lease(req("late", 2))).granted).toBe(0);
    await setClock(stub, t0 + 1_000); // the vanished holder's deadline
    // Already out of the count before the sweep...
    expect((await stub.state()).leasedPermits).toBe(1);
    expect(await storedLeaseKeys(stub)).toContain("lease:vanished");
    // ...and out of storage after it.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    // "late" got nothing: its entry (0 permits, its demand) lives until its own, shorter deadline.
    expect((await storedLeaseKeys(stub)).sort()).toEqual(["lease:alive", "lease:late"]);
    // The live lease keeps an alarm scheduled; once every lease is handed back, none is left.
    expect(await runInDurableObject(stub, (_i: TokenLimiter, state) => state.storage.getAlarm())).not.toBeNull();
    await stub.lease(req("alive", 0));
    expect((await stub.lease(req("late", 4))).granted).toBe(4);
    await stub.lease(req("late", 0));
    expect(await runInDurableObject(stub, (_i: TokenLimiter, state) => state.storage.getAlarm())).toBeNull();
  });
});

describe("TokenLimiter: usage and last use", () => {
  it("counts requests and lease calls and records the last-used time", async () => {
    const { stub } = limiter();
    const t0 = Date.now();
    await stub.lease(req("a", 2));
    await stub.lease(req("a", 2, { used: 7 }));
    await stub.lease(req("b", 1, { used: 3 }));
    const state = await stub.state();
    expect(state.usage.requests).toBe(10);
    expect(state.usage.leaseCalls).toBe(3);
    expect(state.usage.lastUsedAt).toBeGreaterThanOrEqual(t0);
    const stored = await runInDurableObject(stub, (_i: TokenLimiter, s) => s.storage.get<{ requests: number }>("usage"));
    expect(stored?.requests).toBe(10);
  });

  it("never used: no last-used time", async () => {
    const { stub } = limiter();
    await stub.lease(req("a", 0));
    expect((await stub.state()).usage).toEqual({ requests: 0, leaseCalls: 1, lastUsedAt: null });
  });

  it("writes last_used_at to the token's row in D1 at most once a minute", async () => {
    const d = await singleNode("http://vm.limiter.test");
    const { id: tokenId } = await token(d.id, "r");
    const stub = ns.getByName(tokenId);
    const t0 = Date.now();
    await setClock(stub, t0);
    await stub.lease(req("a", 1, { tokenId, used: 1 }));
    expect((await stub.state()).usage.lastUsedAt).toBe(t0);
    expect(await until(() => lastUsedInD1(tokenId), (v) => v !== null)).toBe(t0);
    await setClock(stub, t0 + 5_000);
    await stub.lease(req("a", 1, { tokenId, used: 1 }));
    const state = await stub.state();
    expect(state.usage.lastUsedAt).toBe(t0 + 5_000);
    // Throttled: no write was started, the row keeps the first time...
    expect(await lastUsedInD1(tokenId)).toBe(t0);
    expect(state.lastUsedSync).toMatchObject({ tokenId, value: t0, writtenAt: t0 });
    // ...and the newer time is pending: an alarm writes it one interval after the first write.
    expect(state.alarmAt).not.toBeNull();
    expect(state.alarmAt!).toBeLessThanOrEqual(t0 + 60_000);
    await setClock(stub, t0 + 60_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await lastUsedInD1(tokenId)).toBe(t0 + 5_000);
  });

  it("logs other D1 failures without secrets and retries later", async () => {
    const { stub, tokenId } = limiter();
    const logged: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: string) => void logged.push(line));
    await runInDurableObject(stub, (instance: TokenLimiter) => {
      const failing = { prepare: () => ({ bind: () => ({ run: () => Promise.reject(new Error("D1_ERROR: database is locked")) }) }) };
      (instance as unknown as { env: Env }).env = { ...env, DB: failing as unknown as D1Database };
    });
    await stub.lease(req("a", 1, { tokenId, used: 1 }));
    const state = await until(() => stub.state(), () => logged.length > 0);
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ level: "error", token_id: tokenId, error: expect.stringContaining("database is locked") });
    expect(state.lastUsedSync.value).toBeNull(); // not recorded as written, so the alarm tries again
    expect(state.alarmAt).not.toBeNull();
  });
});

async function lastUsedInD1(tokenId: string): Promise<number | null> {
  const row = await env.DB.prepare("SELECT last_used_at FROM access_tokens WHERE id = ?1").bind(tokenId).first<{ last_used_at: number | null }>();
  return row?.last_used_at ?? null;
}

import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { LeaseRequest } from "../../src/limiter/lease-ledger";
import type { TokenLimiter } from "../../src/limiter/token-limiter";

const ns = env.TOKEN_LIMITER as DurableObjectNamespace<TokenLimiter>;

function limiter() {
  const tokenId = `tok_${crypto.randomUUID()}`;
  return { tokenId, stub: ns.getByName(tokenId) };
}

function req(holder: string, want: number, extra: Partial<LeaseRequest> = {}): LeaseRequest {
  return { holder, want, limit: 5, ttlMs: 10_000, used: 0, ...extra };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function storedLeaseKeys(stub: DurableObjectStub<TokenLimiter>): Promise<string[]> {
  return runInDurableObject(stub, async (_instance: TokenLimiter, state) => [...(await state.storage.list({ prefix: "lease:" })).keys()]);
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 2_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await sleep(10);
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
    expect(await stub.lease(req("c", 1))).toMatchObject({ granted: 0 });
    const state = await stub.state();
    expect(state.leasedPermits).toBe(5);
    expect(Object.fromEntries(state.leases.map((l) => [l.holder, l.permits]))).toEqual({ a: 1, b: 4 });
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

describe("TokenLimiter: expiry", () => {
  it("an alarm sweeps leases whose holder stopped renewing, freeing their permits", async () => {
    const { stub } = limiter();
    await stub.lease(req("vanished", 4, { ttlMs: 20 }));
    await stub.lease(req("alive", 1, { ttlMs: 10_000 }));
    expect(await runInDurableObject(stub, (_i: TokenLimiter, state) => state.storage.getAlarm())).not.toBeNull();
    expect((await stub.lease(req("late", 2))).granted).toBe(0);
    await sleep(30);
    // Already out of the count before the sweep...
    expect((await stub.state()).leasedPermits).toBe(1);
    expect(await storedLeaseKeys(stub)).toContain("lease:vanished");
    // ...and out of storage after it.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await storedLeaseKeys(stub)).sort()).toEqual(["lease:alive"]);
    // The live lease keeps an alarm scheduled; once it is handed back, none is left.
    expect(await runInDurableObject(stub, (_i: TokenLimiter, state) => state.storage.getAlarm())).not.toBeNull();
    await stub.lease(req("alive", 0));
    expect(await runInDurableObject(stub, (_i: TokenLimiter, state) => state.storage.getAlarm())).toBeNull();
    expect((await stub.lease(req("late", 4))).granted).toBe(4);
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

  it("writes last_used_at to D1 at most once a minute", async () => {
    const { stub, tokenId } = limiter();
    await withTokenRow(tokenId, async () => {
      await stub.lease(req("a", 1, { tokenId, used: 1 }));
      const first = (await stub.state()).usage.lastUsedAt;
      const written = await until(() => lastUsedInD1(tokenId), (v) => v !== null);
      expect(written).toBe(first);
      await sleep(5);
      await stub.lease(req("a", 1, { tokenId, used: 1 }));
      const state = await stub.state();
      expect(state.usage.lastUsedAt).toBeGreaterThan(first!);
      await sleep(50);
      expect(await lastUsedInD1(tokenId)).toBe(first); // throttled
      expect(state.lastUsedSync).toMatchObject({ tokenId, value: first });
      // The newer time is pending: an alarm will write it one interval after the first write.
      expect(state.alarmAt).not.toBeNull();
      expect(state.alarmAt!).toBeLessThanOrEqual(state.lastUsedSync.writtenAt + 60_000);
    });
  });

  it("ignores a missing access_tokens table without logging an error", async () => {
    const { stub, tokenId } = limiter();
    const error = vi.spyOn(console, "error");
    await withoutAccessTokensTable(async () => {
      expect((await stub.lease(req("a", 1, { tokenId, used: 1 }))).granted).toBe(1);
      const state = await until(() => stub.state(), (s) => s.lastUsedSync.value !== null);
      expect(state.lastUsedSync.value).toBe(state.usage.lastUsedAt);
    });
    expect(error).not.toHaveBeenCalled();
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

async function tableExists(): Promise<boolean> {
  const row = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'access_tokens'").first();
  return row !== null;
}

/**
 * Runs `fn` against a minimal stand-in for access_tokens holding one row for `tokenId` — just the
 * two columns the limiter touches, so the test does not depend on the management schema. A real
 * table is renamed away meanwhile and put back afterwards.
 */
async function withTokenRow(tokenId: string, fn: () => Promise<void>): Promise<void> {
  await withoutAccessTokensTable(async () => {
    await env.DB.exec("CREATE TABLE access_tokens (id TEXT PRIMARY KEY, last_used_at INTEGER)");
    try {
      await env.DB.prepare("INSERT INTO access_tokens (id) VALUES (?1)").bind(tokenId).run();
      await fn();
    } finally {
      await env.DB.exec("DROP TABLE access_tokens");
    }
  });
}

async function lastUsedInD1(tokenId: string): Promise<number | null> {
  const row = await env.DB.prepare("SELECT last_used_at FROM access_tokens WHERE id = ?1").bind(tokenId).first<{ last_used_at: number | null }>();
  return row?.last_used_at ?? null;
}

/** Runs `fn` with the access_tokens table renamed away, then puts it back. */
async function withoutAccessTokensTable(fn: () => Promise<void>): Promise<void> {
  const existed = await tableExists();
  if (existed) await env.DB.exec("ALTER TABLE access_tokens RENAME TO access_tokens_hidden_by_limiter_test");
  try {
    await fn();
  } finally {
    if (existed) await env.DB.exec("ALTER TABLE access_tokens_hidden_by_limiter_test RENAME TO access_tokens");
  }
}

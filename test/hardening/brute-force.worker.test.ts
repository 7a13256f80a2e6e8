import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_THROTTLE, resetAuthThrottle } from "../../src/data/auth-throttle";
import worker from "../../src/index";
import { generateSecret } from "../../src/token/format";
import { singleNode, token } from "../worker/helpers/tokens";
import { recordUpstreams, type RecordingFetch } from "./lib/recording-fetch";
import { runSettings } from "./lib/requests";

/**
 * Floods of made-up credentials through the whole Worker, counting every KV, D1 and Durable
 * Object call (the bindings are wrapped), and the failed-authentication throttle
 * (src/data/auth-throttle.ts) seen from outside. Small fixed counts in `npm test`;
 * `node scripts/hardening-long.mjs flood` sends 100,000.
 */

const VM = "http://vm.flood.test";

interface Counts {
  kv: number;
  d1: number;
  durableObject: number;
}

/** The Worker's bindings, with every call on KV, D1 and a DO stub counted. */
function countingEnv(): { env: Env; counts: Counts } {
  const counts: Counts = { kv: 0, d1: 0, durableObject: 0 };
  const counting = <T extends object>(target: T, key: keyof Counts): T =>
    new Proxy(target, {
      get(t, prop) {
        const value = Reflect.get(t, prop, t);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          counts[key]++;
          return Reflect.apply(value, t, args);
        };
      },
    });
  const namespace = new Proxy(env.TOKEN_LIMITER, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t);
      if (prop === "get" || prop === "getByName") return (...args: unknown[]) => counting(Reflect.apply(value as Function, t, args) as object, "durableObject");
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
  return { counts, env: { ...env, TOKENS_KV: counting(env.TOKENS_KV, "kv"), DB: counting(env.DB, "d1"), TOKEN_LIMITER: namespace } as Env };
}

async function send(e: Env, authorization: string | undefined, ip: string | undefined): Promise<number> {
  const headers = new Headers();
  if (authorization !== undefined) headers.set("authorization", authorization);
  if (ip !== undefined) headers.set("cf-connecting-ip", ip);
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request("http://authorizer.test/api/v1/query?query=up", { headers }), e, ctx);
  // Reading the body releases the permit; the limiter's idle return stays in the background.
  await res.arrayBuffer();
  return res.status;
}

/** Credentials an attacker or a broken client sends: well-formed made-up secrets and junk of every kind. */
const junkArb = fc.oneof(
  fc.string({ maxLength: 80 }).map((s) => `Bearer ${s}`),
  fc.string({ minLength: 50, maxLength: 60, unit: fc.constantFrom(..."0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") }).map((s) => `Bearer vmat_${s}`),
  fc.string({ maxLength: 60 }).map((s) => `Basic ${btoa(unescape(encodeURIComponent(s)))}`),
  fc.constantFrom("Bearer", "Bearer ", "Basic !!!", "Digest x", "vmat_", `Bearer ${"x".repeat(600)}`),
);

let upstream: RecordingFetch;
const figures: Record<string, unknown> = {};

beforeEach(() => {
  resetAuthThrottle();
  upstream?.restore();
  upstream = recordUpstreams([VM]);
});

afterAll(() => {
  upstream.restore();
  console.log(`HARDENING flood ${JSON.stringify(figures)}`);
});

describe("made-up credentials cost (almost) nothing and reach nothing", () => {
  const { numRuns } = runSettings(2_000);

  it("random credentials, well-formed and not, each from its own address: 0 lookups for junk, 1 KV + 1 D1 for a new well-formed one, 0 on repeats", async () => {
    const d = await singleNode(VM);
    const good = await token(d.id, "r");
    const { env: e, counts } = countingEnv();
    expect(await send(e, `Bearer ${good.value}`, "192.0.2.7")).toBe(200);
    const warm = { ...counts };
    const attempts = fc.sample(fc.oneof(junkArb, fc.constant("well-formed")), { numRuns, seed: 42 });
    let wellFormed = 0;
    let validOk = 0;
    const statuses: Record<number, number> = {};
    for (const [i, a] of attempts.entries()) {
      const auth = a === "well-formed" ? `Bearer ${generateSecret()}` : a;
      if (a === "well-formed") wellFormed++;
      const s = await send(e, auth, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      statuses[s] = (statuses[s] ?? 0) + 1;
      // The valid token alongside, every 100 attempts.
      if (i % 100 === 0) validOk += (await send(e, `Bearer ${good.value}`, "192.0.2.7")) === 200 ? 1 : 0;
    }
    expect(Object.keys(statuses).map(Number).every((s) => s === 401)).toBe(true);
    expect(validOk).toBe(Math.ceil(attempts.length / 100));
    // The flood's lookups, plus the valid token re-read whenever the flood pushed it out of the
    // isolate cache (10,000 entries) or its entry aged past 30 s.
    const validRereads = counts.kv - warm.kv - wellFormed;
    expect(counts.d1 - warm.d1).toBe(wellFormed);
    expect(validRereads).toBeGreaterThanOrEqual(0);
    expect(validRereads).toBeLessThanOrEqual(2 + Math.floor(wellFormed / 10_000) * 2);
    const afterFlood = { ...counts };
    // Repeats of credentials already seen: junk costs nothing; a well-formed one is in the negative cache.
    const repeat = `Bearer ${generateSecret()}`;
    await send(e, repeat, "10.200.0.1");
    const before = { ...counts };
    for (const [i, a] of attempts.slice(0, 500).entries()) if (a !== "well-formed") await send(e, a, `10.9.${(i >> 8) & 255}.${i & 255}`);
    for (let i = 0; i < 500; i++) await send(e, repeat, `10.10.${(i >> 8) & 255}.${i & 255}`);
    expect({ kv: counts.kv, d1: counts.d1 }).toEqual({ kv: before.kv, d1: before.d1 });
    expect(upstream.sent).toHaveLength(validOk + 1);
    figures.distinctAddresses = {
      attempts: attempts.length,
      wellFormed,
      kvReads: afterFlood.kv - warm.kv - validRereads,
      d1Queries: afterFlood.d1 - warm.d1,
      kvReadsPerAttempt: (afterFlood.kv - warm.kv - validRereads) / attempts.length,
      kvReadsPerWellFormed: (afterFlood.kv - warm.kv - validRereads) / wellFormed,
      // The flood never reaches the limiter (refused at step 3); any calls are the valid token's lease check-ins.
      durableObjectCallsDuringFlood: afterFlood.durableObject - warm.durableObject,
      validRequestsAlongside: validOk,
      validTokenRereadsFromKv: validRereads,
      repeatsCostKvD1: 0,
      statuses,
    };
  }, 30_000 + numRuns * 5);

  it("the same flood from one address: the throttle answers 429 before any lookup after 20 failures", async () => {
    const { env: e, counts } = countingEnv();
    const statuses: Record<number, number> = {};
    const started = Date.now();
    for (let i = 0; i < numRuns; i++) {
      const s = await send(e, `Bearer ${generateSecret()}`, "198.51.100.9");
      statuses[s] = (statuses[s] ?? 0) + 1;
    }
    // 20 failures, plus one per 3 s the run took (the score drains 20 per minute).
    const failed = statuses[401] ?? 0;
    const drained = Math.ceil(((Date.now() - started) * DEFAULT_THROTTLE.maxFailures) / DEFAULT_THROTTLE.windowMs);
    expect(failed).toBeGreaterThanOrEqual(DEFAULT_THROTTLE.maxFailures);
    expect(failed).toBeLessThanOrEqual(DEFAULT_THROTTLE.maxFailures + drained + 1);
    expect(statuses[429]).toBe(numRuns - failed);
    expect(counts).toEqual({ kv: failed, d1: failed, durableObject: 0 });
    figures.oneAddress = { attempts: numRuns, seconds: (Date.now() - started) / 1000, kvReads: counts.kv, d1Queries: counts.d1, kvPerAttempt: counts.kv / numRuns, statuses };
  }, 30_000 + numRuns * 5);

  it("429 carries Retry-After, and the throttle never touches a valid token this isolate knows — even from the flooding address", async () => {
    const d = await singleNode(VM);
    const good = await token(d.id, "r");
    const { env: e } = countingEnv();
    expect(await send(e, `Bearer ${good.value}`, "198.51.100.9")).toBe(200); // known valid from now on
    let valid = 0;
    for (let i = 0; i < 200; i++) {
      await send(e, `Bearer ${generateSecret()}`, "198.51.100.9");
      if (i % 10 === 0) valid += (await send(e, `Bearer ${good.value}`, "198.51.100.9")) === 200 ? 1 : 0;
    }
    expect(valid).toBe(20);
    const headers = { authorization: `Bearer ${generateSecret()}`, "cf-connecting-ip": "198.51.100.9" };
    const refused = await worker.fetch(new Request("http://authorizer.test/api/v1/query", { headers }), e, createExecutionContext());
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: string }).error).toBe("too_many_failed_authentications");
    // Still valid past the cache TTL: a stale positive entry keeps it known; the lookup re-reads it.
    expect(await send(e, `Basic ${btoa(`u:${good.value}`)}`, "198.51.100.9")).toBe(200);
  });

  it("successes are never counted, and requests without any credential are not failures", async () => {
    const d = await singleNode(VM);
    const good = await token(d.id, "r");
    const { env: e } = countingEnv();
    for (let i = 0; i < 100; i++) expect(await send(e, `Bearer ${good.value}`, "192.0.2.1")).toBe(200);
    for (let i = 0; i < 100; i++) expect(await send(e, undefined, "192.0.2.1")).toBe(401);
    // 200 successes and 100 credential-less requests later, the address still has all 20 failures to spend.
    for (let i = 0; i < 20; i++) expect(await send(e, `Bearer ${generateSecret()}`, "192.0.2.1")).toBe(401);
    let extra = 0;
    while ((await send(e, `Bearer ${generateSecret()}`, "192.0.2.1")) === 401) extra++;
    expect(extra).toBeLessThanOrEqual(2); // what drains while the test runs
  });

  it("without CF-Connecting-IP nothing is throttled (one shared bucket would let anyone lock out everyone)", async () => {
    const { env: e } = countingEnv();
    for (let i = 0; i < 60; i++) expect(await send(e, `Bearer ${generateSecret()}`, undefined)).toBe(401);
  });

  it("a valid token's throughput alongside a flood from other addresses", async () => {
    const d = await singleNode(VM);
    const good = await token(d.id, "r");
    const { env: e } = countingEnv();
    await send(e, `Bearer ${good.value}`, "192.0.2.50");
    const rounds = 300;
    const alone = performance.now();
    for (let i = 0; i < rounds; i++) expect(await send(e, `Bearer ${good.value}`, "192.0.2.50")).toBe(200);
    const aloneMs = performance.now() - alone;
    const mixed = performance.now();
    let goodMs = 0;
    for (let i = 0; i < rounds; i++) {
      await send(e, `Bearer ${generateSecret()}`, `10.1.${i >> 8}.${i & 255}`);
      const t = performance.now();
      expect(await send(e, `Bearer ${good.value}`, "192.0.2.50")).toBe(200);
      goodMs += performance.now() - t;
    }
    const mixedMs = performance.now() - mixed;
    figures.validAlongsideFlood = { rounds, validAloneMsPerRequest: aloneMs / rounds, validDuringFloodMsPerRequest: goodMs / rounds, floodPlusValidMs: mixedMs };
  }, 60_000); // 900 requests: well under a second when idle, past vitest's 5 s default on a loaded machine.
});

import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { generateSecret } from "../../src/token/format";
import { admin, singleNode, token } from "./helpers/tokens";
import { mockUpstreams, type UpstreamMock } from "./helpers/upstream";

const VM = "http://vm.budget.test";

interface Counts {
  kv: number;
  d1: number;
  durableObjectRequests: number;
}

/** Wraps the bindings so every call the Worker makes on them is counted. */
function countingEnv(): { env: Env; counts: Counts } {
  const counts: Counts = { kv: 0, d1: 0, durableObjectRequests: 0 };
  const countCalls = <T extends object>(target: T, key: keyof Counts, wrapResult?: (r: unknown) => unknown): T =>
    new Proxy(target, {
      get(t, prop) {
        const value = Reflect.get(t, prop, t);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (!wrapResult) counts[key]++;
          const result = Reflect.apply(value, t, args);
          return wrapResult ? wrapResult(result) : result;
        };
      },
    });
  const stub = (s: unknown) => countCalls(s as object, "durableObjectRequests");
  const namespace = new Proxy(env.TOKEN_LIMITER, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t);
      if (prop === "get" || prop === "getByName") return (...args: unknown[]) => stub(Reflect.apply(value as Function, t, args));
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
  return {
    counts,
    env: { ...env, TOKENS_KV: countCalls(env.TOKENS_KV, "kv"), DB: countCalls(env.DB, "d1"), TOKEN_LIMITER: namespace } as Env,
  };
}

async function send(e: Env, secret: string, path = "/api/v1/query?query=up", headers: Record<string, string> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://authorizer.test${path}`, { headers: { authorization: `Bearer ${secret}`, ...headers } }), e, ctx);
  // Reading the whole body is what releases the permit; the limiter's idle return stays in the
  // background, as it would between requests of a busy isolate.
  await res.arrayBuffer();
  return res;
}

let upstream: UpstreamMock;
beforeEach(() => {
  upstream = mockUpstreams({ [VM]: () => Response.json({ status: "success" }) });
});
afterEach(() => {
  upstream.restore();
  expect(upstream.unmocked).toEqual([]);
});

describe("binding-call budget on the hot path", () => {
  it("a warm proxied request makes no KV or D1 call and at most one Durable Object request", async () => {
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    const { env: e, counts } = countingEnv();
    expect((await send(e, t.value)).status).toBe(200); // warms the isolate cache and the permit lease
    const before = { ...counts };
    const rounds = 20;
    for (let i = 0; i < rounds; i++) expect((await send(e, t.value)).status).toBe(200);
    expect(counts.kv - before.kv).toBe(0);
    expect(counts.d1 - before.d1).toBe(0);
    expect(counts.durableObjectRequests - before.durableObjectRequests).toBeLessThanOrEqual(rounds);
    expect(upstream.calls).toHaveLength(rounds + 1);
  });

  it("so does a warm request of a token with an expiry, an allowlist and a label scope", async () => {
    const d = await singleNode(VM);
    const res = await admin("POST", `/deployments/${d.id}/access_tokens`, {
      type: "r",
      description: "budget policies",
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      allowed_networks: ["10.0.0.0/8"],
      labels: { team: "payments" },
    });
    const t = (await res.json()) as { value: string };
    const { env: e, counts } = countingEnv();
    const from = { "cf-connecting-ip": "10.1.2.3" };
    expect((await send(e, t.value, undefined, from)).status).toBe(200);
    const before = { ...counts };
    const rounds = 20;
    for (let i = 0; i < rounds; i++) expect((await send(e, t.value, undefined, from)).status).toBe(200);
    expect(counts.kv - before.kv).toBe(0);
    expect(counts.d1 - before.d1).toBe(0);
    expect(counts.durableObjectRequests - before.durableObjectRequests).toBeLessThanOrEqual(rounds);
    expect(upstream.calls.at(-1)?.url).toBe(`${VM}/api/v1/query?query=up&extra_label=team=payments`);
  });

  it("an unknown token costs one KV read and one D1 query, then nothing on repeats", async () => {
    const { env: e, counts } = countingEnv();
    const secret = generateSecret();
    expect((await send(e, secret)).status).toBe(401);
    expect(counts).toEqual({ kv: 1, d1: 1, durableObjectRequests: 0 });
    for (let i = 0; i < 10; i++) expect((await send(e, secret)).status).toBe(401);
    expect(counts).toEqual({ kv: 1, d1: 1, durableObjectRequests: 0 });
    expect(upstream.calls).toHaveLength(0);
  });

  it("a malformed token makes no binding call at all", async () => {
    const { env: e, counts } = countingEnv();
    for (let i = 0; i < 5; i++) expect((await send(e, "vmat_short")).status).toBe(401);
    expect(counts).toEqual({ kv: 0, d1: 0, durableObjectRequests: 0 });
  });
});

describe("storage failure on the lookup path", () => {
  it("answers 503 with Retry-After (retried by agents), not 500, and caches nothing", async () => {
    const { env: e } = countingEnv();
    const failingKv = new Proxy(e.TOKENS_KV, {
      get(t, prop) {
        if (prop === "get") return () => Promise.reject(new Error("KV unavailable"));
        return Reflect.get(t, prop, t);
      },
    });
    const broken = { ...e, TOKENS_KV: failingKv } as Env;
    const d = await singleNode(VM);
    const t = await token(d.id, "r");
    const res = await send(broken, t.value);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(upstream.calls).toHaveLength(0);
    // The failure was not remembered: with storage back, the same token works at once.
    expect((await send(e, t.value)).status).toBe(200);
  });
});

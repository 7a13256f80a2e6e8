import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { singleNode, token } from "../worker/helpers/tokens";
import { recordUpstreams, type RecordingFetch } from "./lib/recording-fetch";

/**
 * Regression: concurrent requests for a token whose isolate-cache entry had expired all awaited
 * the one lookup the first of them started. Under load (scripts/hardening-flood.ts: a valid
 * client alongside a flood of made-up credentials) workerd cancelled such waiting requests as hung
 * — "The Workers runtime canceled this request because it detected that your Worker's code had
 * hung and would never generate a response", a 500 to a valid token, every 30 s, exactly when its
 * entry expired — and logged "A promise was resolved or rejected from a different request context
 * than the one it was created in". A request must never wait on another request's I/O alone.
 * The hang needs real sockets and load to show; this checks what rules it out: a request that
 * joined a lookup which does not settle goes on by itself.
 */

const VM = "http://vm.lookup-sharing.test";
let upstream: RecordingFetch;
beforeAll(() => {
  upstream = recordUpstreams([VM]);
});
afterAll(() => upstream.restore());

async function send(e: Env, secret: string): Promise<number> {
  const res = await worker.fetch(new Request("http://authorizer.test/api/v1/query?query=up", { headers: { authorization: `Bearer ${secret}` } }), e, createExecutionContext());
  await res.arrayBuffer();
  return res.status;
}

/** env whose TOKENS_KV counts get() calls; the first one stalls stallFirstMs before it reads. */
function countingKv(stallFirstMs = 0): { env: Env; gets: () => number } {
  let gets = 0;
  const kv = new Proxy(env.TOKENS_KV, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop !== "get") return typeof value === "function" ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        if (gets++ === 0 && stallFirstMs > 0) await new Promise((r) => setTimeout(r, stallFirstMs));
        return Reflect.apply(value as Function, target, args);
      };
    },
  });
  return { env: { ...env, TOKENS_KV: kv } as Env, gets: () => gets };
}

describe("a request never waits on another request's lookup alone", () => {
  it("a request that joined a stalled lookup reads through itself instead of waiting for it", async () => {
    const d = await singleNode(VM, "lookup sharing");
    const t = await token(d.id, "r");
    // The first request's KV read stalls for 1.2 s, as under load or when that request dies.
    const kv = countingKv(1_200);
    const first = send(kv.env, t.value);
    await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    expect(await send(kv.env, t.value)).toBe(200);
    expect(Date.now() - started).toBeLessThan(900);
    // It answered by a read of its own, not by the stalled one settling early.
    expect(kv.gets()).toBe(2);
    expect(await first).toBe(200);
  });

  it("concurrent requests that find the lookup under way still share it when it settles promptly", async () => {
    const d = await singleNode(VM, "lookup sharing 2");
    const t = await token(d.id, "r");
    const kv = countingKv();
    const statuses = await Promise.all(Array.from({ length: 8 }, () => send(kv.env, t.value)));
    expect(statuses).toEqual(Array(8).fill(200));
    expect(kv.gets()).toBe(1);
  });
});

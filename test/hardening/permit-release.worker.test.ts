import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { permitPoolStats } from "../../src/limiter/isolate-permits";
import { singleNode, smallestTier, token } from "../worker/helpers/tokens";
import { runSettings } from "./lib/requests";

/**
 * Permits come back however a request ends, whatever its method and whatever the upstream does:
 * every combination of client method, upstream answer (body or none, any status, reset
 * mid-body, stalled mid-body, unreachable, too slow) and client behaviour (read all, cancel at
 * once, read a little then cancel) ends with nothing in use. In-isolate (upstream in the test's
 * globalThis.fetch); test/hardening/real-socket.node.test.ts does the real-socket version.
 */

const VM = "http://vm.permit-release.test";
type Upstream = "json" | "empty" | "no-body" | "status-400" | "status-503" | "reset-mid-body" | "stall-mid-body" | "unreachable" | "slow-headers";
let behaviour: Upstream = "json";
let original: typeof fetch;
let secret = "";
let tokenId = "";
let limit = 0;
const figures = { cases: 0, byStatus: {} as Record<number, number>, worstReleaseMs: 0 };

function answer(): Response | Promise<Response> {
  const enc = new TextEncoder();
  switch (behaviour) {
    case "json":
      return Response.json({ status: "success", data: [] });
    case "empty":
      return new Response("", { status: 200 });
    case "no-body":
      return new Response(null, { status: 204 });
    case "status-400":
      return new Response("bad sample", { status: 400 });
    case "status-503":
      return new Response("busy", { status: 503 });
    case "reset-mid-body":
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(enc.encode("partial"));
          },
          pull(c) {
            c.error(new Error("upstream reset"));
          },
        }),
      );
    case "stall-mid-body":
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(enc.encode("partial"));
          },
          pull: () => new Promise<void>((resolve) => setTimeout(resolve, 2_000)),
        }),
      );
    case "unreachable":
      return Promise.reject(new TypeError("connection refused"));
    case "slow-headers":
      return new Promise((resolve) => setTimeout(() => resolve(new Response("late")), 1_000));
  }
}

beforeAll(async () => {
  original = globalThis.fetch;
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(VM)) return original(input, init);
    const signal = init?.signal;
    const answered = answer();
    // Like a real connection: the Worker's timeout aborts a fetch still waiting for headers.
    return signal ? Promise.race([answered, new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))))]) : answered;
  };
  const d = await singleNode(VM, "permit release");
  const t = await token(d.id, "rw");
  secret = t.value;
  tokenId = t.id;
  limit = (await smallestTier("single_node")).access_token_concurrent_requests;
});

afterAll(() => {
  globalThis.fetch = original;
  console.log(`HARDENING permit-release ${JSON.stringify(figures)}`);
});

async function untilReleased(): Promise<number> {
  const started = Date.now();
  while ((permitPoolStats(tokenId)?.inUse ?? 0) > 0) {
    if (Date.now() - started > 10_000) throw new Error(`permit still in use after 10 s: ${JSON.stringify(permitPoolStats(tokenId))}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - started;
}

describe("permits come back however a request ends", () => {
  it("a HEAD whose upstream answer carries a body returns its permit (regression: it leaked, and the token ran out after `limit` HEADs)", async () => {
    behaviour = "json";
    for (let i = 0; i < limit + 5; i++) {
      const res = await exports.default.fetch("http://authorizer.test/api/v1/query?query=up", { method: "HEAD", headers: { authorization: `Bearer ${secret}` } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    // untilReleased reads this pool: were it keyed otherwise, "nothing in use" would hold vacuously.
    expect(permitPoolStats(tokenId)).toBeDefined();
    await untilReleased();
  });

  const { numRuns, seed } = runSettings(60);
  it("property: every method × upstream answer × client behaviour ends with no permit in use", async () => {
    const arb = fc.record({
      method: fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"),
      upstream: fc.constantFrom<Upstream>("json", "json", "empty", "no-body", "status-400", "status-503", "reset-mid-body", "stall-mid-body", "unreachable", "slow-headers"),
      client: fc.constantFrom("read-all", "cancel", "read-one-then-cancel"),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ method, upstream, client }) => {
        behaviour = upstream;
        const body = method === "POST" || method === "PUT" || method === "PATCH" ? "up 1" : undefined;
        const res = await exports.default.fetch("http://authorizer.test/api/v1/import/prometheus", { method, headers: { authorization: `Bearer ${secret}` }, body });
        figures.cases++;
        figures.byStatus[res.status] = (figures.byStatus[res.status] ?? 0) + 1;
        expect(res.status).not.toBe(500);
        if (res.body) {
          if (client === "cancel") await res.body.cancel("client went away");
          else if (client === "read-one-then-cancel") {
            const reader = res.body.getReader();
            await reader.read().catch(() => undefined);
            await reader.cancel("client went away").catch(() => undefined);
          } else await res.arrayBuffer().catch(() => undefined);
        }
        figures.worstReleaseMs = Math.max(figures.worstReleaseMs, await untilReleased());
      }),
      { numRuns, seed },
    );
  }, 60_000 + numRuns * 200);
});

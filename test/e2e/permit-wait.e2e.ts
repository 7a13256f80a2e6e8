// Waiting for a permit (issue 11) in the real runtime, with the wait set per tier: a request
// past its token's limit waits for a permit another request frees, and a tier that waits 0 ms
// refuses at once. Here, not in the workerd test pool: there a waiter woken by another request's
// release fails with "Cannot perform I/O on behalf of a different request". The upstream is a small HTTP
// server on 127.0.0.1 that holds every request until the test lets it answer.
// Run alone: npm run test:e2e -- test/e2e/permit-wait.e2e.ts (docs/e2e.md).

import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { managementClient, type Management, type Tier } from "./lib/management.ts";
import { fetchWithTimeout, waitFor } from "./lib/processes.ts";
import { startWorker, stopAllWorkers, type WorkerHarness } from "./lib/worker.ts";

let worker: WorkerHarness;
let admin: Management;
let tier: Tier;
let upstreamUrl: string;
const held: ServerResponse[] = [];
let served = 0;
const upstream = createServer((req, res) => {
  req.resume();
  served++;
  held.push(res);
});

/** Lets `n` held upstream requests answer. */
function answer(n: number): void {
  for (const res of held.splice(0, n)) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"status":"success","data":{"resultType":"vector","result":[]}}');
  }
}

beforeAll(async () => {
  await new Promise<void>((ok) => upstream.listen(0, "127.0.0.1", ok));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  // The Worker's own wait is the longest there is, so a tier's 0 ms that were ignored would show.
  worker = await startWorker({ vars: { PERMIT_MAX_WAIT_MS: "5000" } });
  admin = managementClient(worker);
  tier = await admin.smallestTier("single_node");
}, 90_000);

afterAll(async () => {
  answer(held.length);
  await stopAllWorkers();
  await new Promise((ok) => upstream.close(ok));
}, 60_000);

async function setTierWait(ms: number | null): Promise<void> {
  const db = await worker.d1();
  await db.prepare("UPDATE tiers SET access_token_max_wait_ms = ?1 WHERE id = ?2").bind(ms, tier.id).run();
}

/** A token of the smallest tier on a fresh deployment; its projection carries the tier's wait as it is now. */
async function freshToken(name: string): Promise<{ id: string; value: string }> {
  const d = await admin.createDeployment({ name: `e2e wait ${name}`, type: "single_node", tier: tier.id, upstream_url: upstreamUrl });
  return admin.createToken(d.id, { type: "r", description: name });
}

/** `lease` calls the token's Durable Object has answered. */
async function leaseCalls(tokenId: string): Promise<number> {
  const ns = await worker.durableObjects();
  const stub = ns.get(ns.idFromName(tokenId)) as unknown as { state(): Promise<{ usage: { leaseCalls: number } }> };
  return (await stub.state()).usage.leaseCalls;
}

interface Answer {
  status: number;
  retryAfter: string | null;
  body: string;
}

/** A query, read to its end (a permit is held until the client has the whole body). */
async function query(secret: string): Promise<Answer> {
  const res = await fetchWithTimeout(`${worker.url}/api/v1/query?query=up`, { headers: { authorization: `Bearer ${secret}` } }, 20_000);
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.text() };
}

/** Sends the token's limit of requests and waits until the upstream holds all of them. */
async function fill(secret: string): Promise<Promise<Answer>[]> {
  const before = served;
  const limit = tier.access_token_concurrent_requests;
  const responses = Array.from({ length: limit }, () => query(secret));
  await waitFor(() => served - before === limit, { timeoutMs: 20_000, what: `${limit} requests at the upstream` });
  return responses;
}

describe("waiting for a permit, per tier, in workerd", () => {
  it("a tier that waits: a request past the limit is admitted when another request's permit comes back", async () => {
    await setTierWait(5_000);
    const token = await freshToken("waits");
    const secret = token.value;
    const first = await fill(secret);
    const calls = await leaseCalls(token.id);
    let settled = false;
    const extra = query(secret).finally(() => (settled = true));
    // Past the limit it waits: the head of the queue asks the token's object again (every 100 ms)
    // while the answers come back short; it is neither answered nor at the upstream.
    await waitFor(async () => (await leaseCalls(token.id)) >= calls + 2, { timeoutMs: 10_000, what: "the waiting request to poll its token's object" });
    expect(settled).toBe(false);
    expect(held).toHaveLength(tier.access_token_concurrent_requests);
    const before = served;
    answer(1);
    // One request done, its permit back: the waiting one goes through to the upstream.
    await waitFor(() => served === before + 1, { timeoutMs: 10_000, what: "the waiting request at the upstream" });
    answer(held.length);
    expect((await extra).status).toBe(200);
    for (const r of await Promise.all(first)) expect(r.status).toBe(200);
  }, 60_000);

  it("a tier that waits 0 ms refuses past the limit at once with 429 and Retry-After, the upstream never reached", async () => {
    await setTierWait(0);
    const secret = (await freshToken("no wait")).value;
    const first = await fill(secret);
    const sentAt = Date.now();
    const refused = await query(secret);
    expect(refused.status).toBe(429);
    // Not the Worker's own wait: that is 5 s here, and nothing is released meanwhile, so a request
    // that waited it could not be answered sooner. An answer at once has seconds to spare.
    expect(Date.now() - sentAt).toBeLessThan(4_000);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect((JSON.parse(refused.body) as { error: string }).error).toBe("too_many_requests");
    expect(held).toHaveLength(tier.access_token_concurrent_requests);
    answer(held.length);
    for (const r of await Promise.all(first)) expect(r.status).toBe(200);
  }, 60_000);
});

// How much of a token's concurrency is usable right now, measured from outside: hold `limit`
// requests open at a hanging upstream and count how many got through the limiter.

import type { FaultUpstream } from "./fault-upstream.ts";
import { head, rawRequest, type RawAnswer } from "./raw-http.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CapacityProbe {
  admitted: number;
  refused: number;
  other: number[];
}

/**
 * Sends `limit` concurrent reads with the upstream hanging, waits until every one is either open
 * at the upstream or answered, then releases the upstream. Restores `ok` mode.
 */
export async function probeCapacity(workerPort: number, upstream: FaultUpstream, secret: string, limit: number, timeoutMs = 5_000): Promise<CapacityProbe> {
  upstream.setMode("hang");
  const arrivedBefore = upstream.arrivals().length;
  const answers: (RawAnswer | undefined)[] = new Array(limit).fill(undefined);
  const all = Array.from({ length: limit }, (_, i) =>
    rawRequest(workerPort, head("GET", "/api/v1/query?query=probe", { authorization: `Bearer ${secret}` }), { timeoutMs: timeoutMs + 5_000 }).then((a) => (answers[i] = a)),
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reached = upstream.arrivals().length - arrivedBefore;
    const answered = answers.filter((a) => a !== undefined).length;
    if (reached + answered >= limit || Date.now() > deadline) break;
    await sleep(10);
  }
  const admitted = upstream.arrivals().length - arrivedBefore;
  // Only the probe's own requests: others still held belong to the scenario being measured.
  upstream.release((a) => a.target.includes("query=probe"));
  upstream.setMode("ok");
  await Promise.all(all);
  const statuses = answers.map((a) => a!.status);
  return { admitted, refused: statuses.filter((s) => s === 429).length, other: statuses.filter((s) => s !== 429 && s !== 200) };
}

/** Probes until the whole limit is usable; returns the time from `since` to that probe's start. */
export async function timeToFullCapacity(workerPort: number, upstream: FaultUpstream, secret: string, limit: number, since: number, maxMs: number): Promise<number> {
  for (;;) {
    const started = Date.now();
    const p = await probeCapacity(workerPort, upstream, secret, limit);
    if (p.admitted === limit && p.refused === 0) return Math.max(0, started - since);
    if (Date.now() - since > maxMs) throw new Error(`capacity not back after ${maxMs} ms: ${JSON.stringify(p)}`);
    await sleep(200);
  }
}

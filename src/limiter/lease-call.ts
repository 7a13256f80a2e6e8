import type { LeaseGrant, LeaseRequest } from "./lease-ledger";
import { demandEstimate, type LeaseTimings, RATE_EWMA_WEIGHT, nextHeadroom } from "./lease-policy";
import { type CallOutcome, type Pool, type WaitUntil, withTimeout } from "./pool-state";

/**
 * One pool's `lease` call and what its answer does to the pool: the pool's move between the
 * location's object and the token's (docs/limiter.md, "Per-location objects"), the request with
 * the use and demand it reports, and the grant, revocation or failure applied. The pool's
 * mechanics — when to call and for how much, the queue, the permits — are in permit-pool.ts.
 */

/** How long a pool stays where the objects last sent it (no flip-flop between the levels). */
const ROUTE_PIN_MS = 60_000;

/** What a call needs from the isolate's pools. */
export interface CallContext {
  /** This isolate's id in the objects. */
  holder: string;
  timings: LeaseTimings;
  clock: () => number;
  /** Called once the answer (or failure) is applied: the queue's head looks again, in its own context. */
  answered(pool: Pool): void;
}

/**
 * The one place that calls `lease`; calls are serialised per pool so answers apply in order. Never rejects.
 * The call is handed to the calling request's `waitUntil`: requests of this isolate join it, and
 * a client that disconnects must not take the call down with its request (the pool would wait
 * on an answer that never comes until the dead-call guard in refresh() gives up on it).
 */
export function callLease(pool: Pool, want: number, waitUntil: WaitUntil, c: CallContext): Promise<CallOutcome> {
  // Switch to the location's object only with nothing in use, handing the direct lease back
  // first (one call, once): nothing of it is in use, so nothing is left uncovered.
  const from = pool.route;
  const switching = pool.nextRoute !== undefined && pool.nextRoute !== pool.route && pool.inUse === 0;
  if (switching) {
    pool.route = pool.nextRoute!;
    pool.held = 0;
    pool.pinnedUntil = c.clock() + ROUTE_PIN_MS;
  }
  pool.nextRoute = undefined;
  const startedAt = c.clock();
  const seq = pool.arrivals;
  const used = pool.used;
  pool.used = 0;
  measureRate(pool, startedAt, c.timings.pollMs);
  const request: LeaseRequest = {
    tokenId: pool.tokenId,
    holder: c.holder,
    want,
    limit: pool.limit,
    ttlMs: c.timings.leaseTtlMs,
    used,
    demand: demandEstimate({ ratePerMs: pool.ratePerMs, meanHoldMs: pool.meanHoldMs, inUse: pool.inUse, want }),
  };
  const inflight: NonNullable<Pool["inflight"]> = { want, startedAt, done: Promise.resolve({ seq, short: false, failed: false }) };
  pool.inflight = inflight;
  inflight.done = (async (): Promise<CallOutcome> => {
    let outcome: CallOutcome;
    try {
      if (!pool.ns) throw new Error("no namespace to call");
      const via = (route: "token" | "location") => (route === "location" && pool.location ? pool.location : pool.ns!);
      if (switching) await withTimeout(via(from).getByName(pool.tokenId).lease({ ...request, want: 0, used: 0 }), c.timings.callTimeoutMs).catch(() => undefined);
      const target = via(pool.route);
      const grant: LeaseGrant = await withTimeout(target.getByName(pool.tokenId).lease(request), c.timings.callTimeoutMs);
      // A move is pinned for ROUTE_PIN_MS either way, so the two levels' advice cannot flip-flop.
      if (grant.route !== undefined && grant.route !== pool.route && (grant.route === "token" || pool.location) && c.clock() >= pool.pinnedUntil) {
        pool.nextRoute = grant.route;
      }
      if (grant.revoked || pool.revoked) {
        pool.revoked = true;
        if (grant.expiredAt !== undefined) pool.expiredAt = grant.expiredAt;
        pool.held = 0;
      } else {
        pool.held = grant.granted;
        // Measured from the ask: the DO's deadline is at least that late.
        pool.leasedAt = startedAt;
        pool.contended = grant.contended;
        if (grant.contended) pool.headroom = nextHeadroom(pool.headroom, "contended", pool.limit);
      }
      outcome = { seq, short: grant.granted < want, failed: false };
    } catch (err) {
      // The DO may or may not have applied the call: assume the smaller lease and check in next time.
      pool.used += used;
      pool.held = Math.min(pool.held, want);
      pool.leasedAt = -Infinity;
      pool.failedAt = c.clock();
      console.warn(JSON.stringify({ level: "warn", msg: "permit lease call failed", token_id: pool.tokenId, error: String(err) }));
      outcome = { seq, short: true, failed: true };
    } finally {
      if (pool.inflight === inflight) pool.inflight = undefined;
    }
    pool.lastCall = { at: c.clock(), outcome };
    // New permits or a new answer: the queue's head looks again (in its own context).
    c.answered(pool);
    return outcome;
  })();
  try {
    waitUntil(inflight.done);
  } catch {
    // The request's context is already gone: the call runs as far as the runtime lets it, and
    // the dead-call guard in refresh() covers an answer that never comes.
  }
  return inflight.done;
}

/** Updates the pool's arrival rate from the acquires since the last call. */
function measureRate(pool: Pool, now: number, pollMs: number): void {
  const mark = pool.rateMark;
  if (mark !== undefined && now - mark.at < pollMs) return; // too short a window to measure: keep counting from the old mark
  pool.rateMark = { at: now, arrivals: pool.arrivals };
  if (mark === undefined) return;
  const rate = (pool.arrivals - mark.arrivals) / (now - mark.at);
  pool.ratePerMs = pool.ratePerMs === undefined ? rate : pool.ratePerMs + RATE_EWMA_WEIGHT * (rate - pool.ratePerMs);
}

/**
 * The isolate side's decisions about permit leases, kept free of I/O so they can be read and
 * tested alone (permit-pool.ts does the calls). See docs/limiter.md.
 */

export interface LeaseTimings {
  /** A lease older than this is not used for new permits until a `lease` call renews it; bounds how late an isolate learns of a revocation. */
  checkInMs: number;
  /** Deadline the Durable Object puts on each lease; a holder that vanished frees its permits by then. */
  leaseTtlMs: number;
  /** A `lease` call that has not answered by then fails; waiters must not hang on a dead request's call. */
  callTimeoutMs: number;
  /** While acquires wait and the last call came back short, the pool asks again at most this often. */
  pollMs: number;
}

export const DEFAULT_TIMINGS: Readonly<LeaseTimings> = Object.freeze({
  checkInMs: 1_000,
  leaseTtlMs: 10_000,
  callTimeoutMs: 5_000,
  pollMs: 100,
});

/** Extra permits asked for beyond the immediate need when a pool starts out. */
export const INITIAL_HEADROOM = 1;
/**
 * How long an acquire that finds no permit waits, in arrival order, for one released in its
 * isolate or granted by the next `lease` call, before it is refused with 429 (per-request
 * override: `maxWaitMs`, bounded by MAX_WAIT_CEILING_MS so a waiting upload is never held long).
 */
export const DEFAULT_MAX_WAIT_MS = 1_000;
export const MAX_WAIT_CEILING_MS = 5_000;
/** Retry-After is never more than this, however long the estimate. */
export const MAX_RETRY_AFTER_SECONDS = 60;

/** What the pool knows at the moment an acquire arrives. */
export interface PoolView {
  /** Permits this isolate's lease holds. */
  held: number;
  /** Permits handed out and not yet released. */
  inUse: number;
  /** Local time the current lease was asked for (−Infinity: none yet). */
  leasedAt: number;
  revoked: boolean;
  limit: number;
  /** `want` of the `lease` call in flight, if any: until it answers, no more than this is safe to use. */
  inflightWant: number | undefined;
}

/**
 * - `revoked`: refuse without asking the Durable Object.
 * - `full`: this isolate alone already has `limit` requests in flight; only a local release helps.
 * - `local`: take a permit from the lease, no call.
 * - `check-in`: the lease is older than the check-in interval; renew it first.
 * - `exhausted`: the lease is fresh but used up; ask for more.
 */
export type Step = "revoked" | "full" | "local" | "check-in" | "exhausted";

export function nextStep(v: PoolView, now: number, checkInMs: number): Step {
  if (v.revoked) return "revoked";
  if (v.inUse >= v.limit) return "full";
  if (now - v.leasedAt >= checkInMs) return "check-in";
  const usable = v.inflightWant === undefined ? v.held : Math.min(v.held, v.inflightWant);
  return v.inUse < usable ? "local" : "exhausted";
}

/** Permits to ask for: what is in use, what is waiting, plus headroom — never more than the limit. */
export function leaseWant(p: { inUse: number; waiting: number; headroom: number; limit: number }): number {
  return Math.max(0, Math.min(p.limit, p.inUse + p.waiting + p.headroom));
}

/**
 * Headroom grows (doubling) when demand outran the lease between check-ins, shrinks (halving)
 * at a check-in, and drops to zero when the Durable Object says others are short, so a busy
 * isolate needs few calls while a contended token's capacity is not hoarded.
 */
export function nextHeadroom(headroom: number, event: "exhausted" | "check-in" | "contended", limit: number): number {
  switch (event) {
    case "exhausted":
      return Math.min(limit, Math.max(INITIAL_HEADROOM, headroom * 2));
    case "check-in":
      return Math.min(limit, Math.max(INITIAL_HEADROOM, Math.floor(headroom / 2)));
    case "contended":
      return 0;
  }
}

/**
 * Whether to hand permits back now, after a release. Only when the Durable Object said the
 * token is contended: then the permits held beyond what this isolate keeps (`keep`: in use, or
 * its recent peak if higher — leases sized to recent use) go back at once, so demand elsewhere
 * is admitted. Uncontended, an idle lease is kept: the next acquire's check-in renews or resizes
 * it in the same call, and otherwise it lapses at its deadline — a sparse token pays one call
 * per request, not a lease and a return.
 */
export function shouldHandBack(p: { held: number; keep: number; waiting: number; revoked: boolean; contended: boolean }): boolean {
  return !p.revoked && p.contended && p.waiting === 0 && p.held > p.keep;
}

/**
 * Retry-After for a request refused after waiting: the time until this isolate is expected to
 * free a permit for it — the releases needed to serve everyone still ahead of it plus itself,
 * each of the permits in use freeing one per mean hold time seen here (1 s until a permit has
 * been released). Whole seconds, at least 1, at most MAX_RETRY_AFTER_SECONDS.
 */
export function retryAfterSeconds(p: { queuedAhead: number; inUse: number; meanHoldMs: number | undefined }): number {
  const seconds = ((p.queuedAhead + 1) * (p.meanHoldMs ?? 1_000)) / Math.max(1, p.inUse) / 1_000;
  return Math.max(1, Math.min(MAX_RETRY_AFTER_SECONDS, Math.ceil(seconds)));
}

/** Weight of the newest measurement in a pool's arrival rate (per call). */
export const RATE_EWMA_WEIGHT = 0.5;

/**
 * The permits this isolate needs by Little's law: its arrival rate times the mean time a permit is
 * held here, and never less than what is in use. Unlike `want`, it does not swell with a queue
 * that waits for a far object's answer, so fair shares follow real demand. Fractional: a sparse
 * isolate needs a small part of a permit. Without a hold time yet, `want` stands in.
 */
export function demandEstimate(p: { ratePerMs: number | undefined; meanHoldMs: number | undefined; inUse: number; want: number }): number {
  if (p.ratePerMs === undefined || p.meanHoldMs === undefined) return p.want;
  return Math.max(p.inUse, p.ratePerMs * p.meanHoldMs);
}

/**
 * The isolate side's decisions about permit leases, kept free of I/O so they can be read and
 * tested alone (permit-pool.ts does the calls). See docs/limiter.md.
 */

export interface LeaseTimings {
  /** A lease older than this is not used for new permits until a `lease` call renews it; bounds how late an isolate learns of a revocation. */
  checkInMs: number;
  /** Deadline the Durable Object puts on each lease; a holder that vanished frees its permits by then. */
  leaseTtlMs: number;
  /** How long a pool must stay idle (nothing in use) before it hands its lease back. */
  idleReturnMs: number;
  /** A `lease` call that has not answered by then fails; waiters must not hang on a dead request's call. */
  callTimeoutMs: number;
}

export const DEFAULT_TIMINGS: Readonly<LeaseTimings> = Object.freeze({
  checkInMs: 1_000,
  leaseTtlMs: 10_000,
  idleReturnMs: 250,
  callTimeoutMs: 5_000,
});

/** Extra permits asked for beyond the immediate need when a pool starts out. */
export const INITIAL_HEADROOM = 1;
/** Retry-After for a request refused because the token's limit is reached. */
export const LIMIT_RETRY_AFTER_SECONDS = 1;

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
 * - `revoked` / `full`: refuse without asking the Durable Object (`full`: this isolate alone
 *   already has `limit` requests in flight).
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

/** After the idle delay: hand the lease back if nothing was taken, nothing waits and something is held. */
export function shouldReturnIdle(p: { held: number; inUse: number; waiting: number; revoked: boolean; activityChanged: boolean }): boolean {
  return !p.revoked && !p.activityChanged && p.inUse === 0 && p.waiting === 0 && p.held > 0;
}

import type { LeaseGrant, LeaseRequest } from "./lease-ledger";
import { INITIAL_HEADROOM, type LeaseTimings, type PoolView } from "./lease-policy";

/**
 * The state of one token's pool in one isolate, and the small helpers on it; the behaviour is in
 * permit-pool.ts. Nothing here is secret.
 */

/** What a pool calls: the `lease` protocol of docs/limiter.md. */
export interface LeaseTarget {
  lease(req: LeaseRequest): Promise<LeaseGrant>;
}
export interface LimiterNamespace {
  getByName(name: string): LeaseTarget;
}
export type WaitUntil = (p: Promise<unknown>) => void;

export interface CallOutcome {
  /** `arrivals` when the call was sent: acquirers numbered up to this were counted in its `want`. */
  seq: number;
  /** The DO granted less than asked. */
  short: boolean;
  /** The call failed; the lease was assumed to be the smaller of old and asked. */
  failed: boolean;
}

/**
 * An acquire in the queue. Everything it does — taking its permit, starting the permit's timers,
 * polling the DO — runs in its own request's context: another request only reserves a permit for
 * it and wakes it (workerd refuses I/O, timers included, made on behalf of another request).
 */
export interface Waiter {
  /** A permit was reserved for it (counted in inUse) by whoever served the queue. */
  granted: boolean;
  /** Resolves the waiter's current sleep early. */
  wake(): void;
}

export interface Pool {
  tokenId: string;
  /** Absent only for a pool that forgetToken() created; such a pool never calls. */
  ns: LimiterNamespace | undefined;
  /** The location's objects, and whether this pool leases through them (docs/limiter.md, "Per-location objects"). */
  location: LimiterNamespace | undefined;
  route: "token" | "location";
  /** Where the last answer said to lease from next; the pool moves once nothing is in use. */
  nextRoute: "token" | "location" | undefined;
  /** Until then route advice is ignored: the pool moved recently (no flip-flop between the levels). */
  pinnedUntil: number;
  limit: number;
  held: number;
  inUse: number;
  leasedAt: number;
  revoked: boolean;
  /** With `revoked`: the token's object said the token expired, at this epoch ms. */
  expiredAt?: number;
  /** The last grant said the token is contended: spare permits go back at once. */
  contended: boolean;
  headroom: number;
  /** Permits taken since the last successful report to the DO. */
  used: number;
  /** Acquires that arrived (numbering them) and acquires inside a call right now. */
  arrivals: number;
  calling: number;
  /** Acquires waiting for a permit, in arrival order. */
  queue: Waiter[];
  inflight: { want: number; startedAt: number; done: Promise<CallOutcome> } | undefined;
  /** Local time and outcome of the last call (polls while waiters wait are spaced by pollMs). */
  lastCall: { at: number; outcome: CallOutcome } | undefined;
  /** A hand-back is scheduled (at most one call per pollMs gives permits back). */
  handBackPending: boolean;
  /** Local time of the last failed call; keep-alive ticks back off for a check-in interval after it. */
  failedAt: number;
  /** Mean time a permit was held here (exponentially weighted), for Retry-After; undefined until one was released. */
  meanHoldMs: number | undefined;
  /** Acquires per ms (exponentially weighted over calls), and the arrivals and local time it was last measured at. */
  ratePerMs: number | undefined;
  rateMark: { at: number; arrivals: number } | undefined;
  /** Renewal timers of permits in use. */
  timers: Set<ReturnType<typeof setInterval>>;
}

/** A check-in interval or poll spacing of 0 would make a pool call in a loop. */
export function withFloor(t: LeaseTimings): LeaseTimings {
  return { ...t, checkInMs: Math.max(1, t.checkInMs), pollMs: Math.max(1, t.pollMs) };
}

export function emptyPool(tokenId: string, ns: LimiterNamespace | undefined): Pool {
  return {
    tokenId,
    ns,
    location: undefined,
    route: "token",
    nextRoute: undefined,
    pinnedUntil: -Infinity,
    limit: 0,
    held: 0,
    inUse: 0,
    leasedAt: -Infinity,
    revoked: false,
    contended: false,
    headroom: INITIAL_HEADROOM,
    used: 0,
    arrivals: 0,
    calling: 0,
    queue: [],
    inflight: undefined,
    lastCall: undefined,
    handBackPending: false,
    failedAt: -Infinity,
    meanHoldMs: undefined,
    ratePerMs: undefined,
    rateMark: undefined,
    timers: new Set(),
  };
}

export function failedOutcome(pool: Pool): CallOutcome {
  return { seq: pool.arrivals, short: true, failed: true };
}

export function view(pool: Pool): PoolView {
  const { held, inUse, leasedAt, revoked, limit } = pool;
  return { held, inUse, leasedAt, revoked, limit, inflightWant: pool.inflight?.want };
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lease call timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

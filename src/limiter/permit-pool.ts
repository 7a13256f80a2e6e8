import { HttpError } from "../errors";
import type { LeaseGrant, LeaseRequest } from "./lease-ledger";
import {
  DEFAULT_TIMINGS,
  INITIAL_HEADROOM,
  LIMIT_RETRY_AFTER_SECONDS,
  type LeaseTimings,
  type PoolView,
  leaseWant,
  nextHeadroom,
  nextStep,
  shouldReturnIdle,
} from "./lease-policy";
import type { TokenLimiter } from "./token-limiter";

/**
 * The isolate side of the limiter: each isolate leases a small batch of a token's permits from
 * the token's Durable Object and hands them out locally, so most requests make no DO call.
 * Design, invariant and costs: docs/limiter.md.
 */

export interface Permit {
  /** Gives the permit back. Idempotent; local only, never awaits. */
  release(): void;
}

export type PermitResult =
  | { ok: true; permit: Permit }
  | { ok: false; reason: "limit" | "revoked"; retryAfterSeconds: number };

type WaitUntil = (p: Promise<unknown>) => void;
type LimiterNamespace = DurableObjectNamespace<TokenLimiter>;
/** `wrangler types` may type the binding without its class; both name the same namespace. */
export type TokenLimiterNamespace = LimiterNamespace | DurableObjectNamespace;

/** The token's Durable Object did not answer; the caller should answer 503 and the client retry. */
export class LimiterUnavailableError extends HttpError {
  override name = "LimiterUnavailableError";
  constructor() {
    super(503, "limiter_unavailable", "The token's concurrency limiter did not answer; retry shortly.", { "retry-after": "1" });
  }
}

/** How often an acquire may go round (call, then look again) before it is refused. */
const MAX_ROUNDS = 4;
/** Pools kept per isolate; idle ones beyond this are dropped (their leases expire in the DO). */
const MAX_POOLS = 10_000;

const LIMITED: PermitResult = Object.freeze({ ok: false, reason: "limit", retryAfterSeconds: LIMIT_RETRY_AFTER_SECONDS });
/** A revoked token is answered 401 and never becomes valid again, so there is nothing to retry. */
const REVOKED: PermitResult = Object.freeze({ ok: false, reason: "revoked", retryAfterSeconds: 0 });

interface CallOutcome {
  /** `arrivals` when the call was sent: acquirers numbered up to this were counted in its `want`. */
  seq: number;
  /** The DO granted less than asked. */
  short: boolean;
}

interface Pool {
  tokenId: string;
  /** Absent only for a pool that forgetToken() created; such a pool never calls. */
  ns: LimiterNamespace | undefined;
  limit: number;
  held: number;
  inUse: number;
  leasedAt: number;
  revoked: boolean;
  headroom: number;
  /** Permits taken since the last successful report to the DO. */
  used: number;
  /** Acquires that arrived (numbering them; an idle return sees from it whether any came) and acquires waiting on a call. */
  arrivals: number;
  waiting: number;
  inflight: { want: number; done: Promise<CallOutcome> } | undefined;
  /** Local time of the last failed call; keep-alive ticks back off for a check-in interval after it. */
  failedAt: number;
  /** Renewal timers of permits in use. */
  timers: Set<ReturnType<typeof setInterval>>;
}

/** One isolate's pools, keyed by token id. Exported so tests can simulate several isolates. */
export class PermitPools {
  private readonly pools = new Map<string, Pool>();
  private timings: LeaseTimings = { ...DEFAULT_TIMINGS };
  private holderId: string | undefined;

  /** @param holder this isolate's id in the DOs; drawn lazily because Workers forbid randomness at startup. */
  constructor(holder?: string) {
    this.holderId = holder;
  }

  get holder(): string {
    return (this.holderId ??= crypto.randomUUID());
  }

  setTimings(timings: Partial<LeaseTimings>): void {
    this.timings = { ...this.timings, ...timings };
  }

  async acquire(ns: LimiterNamespace, tokenId: string, limit: number, waitUntil: WaitUntil): Promise<PermitResult> {
    const pool = this.poolFor(ns, tokenId);
    pool.ns = ns;
    pool.limit = limit;
    const me = ++pool.arrivals;
    let last: CallOutcome | undefined;
    try {
      for (let round = 0; ; round++) {
        // Right after a call this acquire waited for, the lease counts as fresh however slow the answer was.
        const now = last === undefined ? Date.now() : Math.min(Date.now(), pool.leasedAt);
        const step = nextStep(view(pool), now, this.timings.checkInMs);
        if (step === "revoked") return REVOKED;
        if (step === "local") return { ok: true, permit: this.take(pool, waitUntil) };
        // A call that counted this acquire and still came back short means the token is at its limit.
        if (step === "full" || round >= MAX_ROUNDS || (last !== undefined && last.seq >= me && last.short)) return LIMITED;
        pool.waiting++;
        try {
          last = await this.refresh(pool, step);
        } finally {
          pool.waiting--;
        }
      }
    } finally {
      // A refused or failed acquire may leave a lease nobody here uses; hand it back like any idle one.
      if (pool.inUse === 0 && pool.held > 0 && pool.waiting === 0) this.scheduleIdleReturn(pool, waitUntil);
    }
  }

  forget(tokenId: string): void {
    const pool = this.pools.get(tokenId);
    if (pool) {
      pool.revoked = true;
      pool.held = 0;
    } else {
      this.pools.set(tokenId, { ...emptyPool(tokenId, undefined), revoked: true });
    }
  }

  stats(tokenId: string): { held: number; inUse: number; revoked: boolean } | undefined {
    const pool = this.pools.get(tokenId);
    return pool && { held: pool.held, inUse: pool.inUse, revoked: pool.revoked };
  }

  reset(): void {
    for (const pool of this.pools.values()) for (const timer of pool.timers) clearInterval(timer);
    this.pools.clear();
    this.timings = { ...DEFAULT_TIMINGS };
  }

  private poolFor(ns: LimiterNamespace, tokenId: string): Pool {
    let pool = this.pools.get(tokenId);
    if (!pool) {
      if (this.pools.size >= MAX_POOLS) this.dropIdlePools();
      pool = emptyPool(tokenId, ns);
      this.pools.set(tokenId, pool);
    }
    return pool;
  }

  private dropIdlePools(): void {
    for (const [tokenId, pool] of this.pools) {
      if (this.pools.size < MAX_POOLS / 2) return;
      if (pool.inUse === 0 && pool.waiting === 0 && pool.inflight === undefined) this.pools.delete(tokenId);
    }
  }

  private take(pool: Pool, waitUntil: WaitUntil): Permit {
    pool.inUse++;
    pool.used++;
    // Runs in this request's context, which lives as long as the permit is held: a long request
    // keeps its isolate's lease renewed even when no other acquire comes by.
    const timer = setInterval(() => this.keepAlive(pool), this.timings.checkInMs);
    pool.timers.add(timer);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        pool.timers.delete(timer);
        pool.inUse = Math.max(0, pool.inUse - 1);
        if (pool.inUse === 0) this.scheduleIdleReturn(pool, waitUntil);
      },
    };
  }

  /** Joins the call in flight, or starts one sized for the current demand. */
  private refresh(pool: Pool, reason: "check-in" | "exhausted"): Promise<CallOutcome> {
    // Joining a call another request started: wait with a timer of this request's own, or the
    // runtime may cancel this request as hung (its only pending work would be the other's I/O) —
    // the failure src/data/lookup.ts's joinLookup guards against.
    if (pool.inflight) return withTimeout(pool.inflight.done, this.timings.callTimeoutMs).catch(() => Promise.reject(new LimiterUnavailableError()));
    pool.headroom = nextHeadroom(pool.headroom, reason, pool.limit);
    return this.call(pool, leaseWant(pool));
  }

  /** The one place that calls `lease`; calls are serialised per pool so answers apply in order. */
  private call(pool: Pool, want: number): Promise<CallOutcome> {
    const startedAt = Date.now();
    const seq = pool.arrivals;
    const used = pool.used;
    pool.used = 0;
    const request: LeaseRequest = {
      tokenId: pool.tokenId,
      holder: this.holder,
      want,
      limit: pool.limit,
      ttlMs: this.timings.leaseTtlMs,
      used,
    };
    const inflight: NonNullable<Pool["inflight"]> = { want, done: Promise.resolve({ seq, short: false }) };
    pool.inflight = inflight;
    inflight.done = (async () => {
      try {
        if (!pool.ns) throw new Error("no namespace to call");
        const grant: LeaseGrant = await withTimeout(pool.ns.getByName(pool.tokenId).lease(request), this.timings.callTimeoutMs);
        if (grant.revoked || pool.revoked) {
          pool.revoked = true;
          pool.held = 0;
        } else {
          pool.held = grant.granted;
          // Measured from the ask: the DO's deadline is at least that late.
          pool.leasedAt = startedAt;
          if (grant.contended) pool.headroom = nextHeadroom(pool.headroom, "contended", pool.limit);
        }
        return { seq, short: grant.granted < want };
      } catch (err) {
        // The DO may or may not have applied the call: assume the smaller lease and check in next time.
        pool.used += used;
        pool.held = Math.min(pool.held, want);
        pool.leasedAt = -Infinity;
        pool.failedAt = Date.now();
        console.warn(JSON.stringify({ level: "warn", msg: "permit lease call failed", token_id: pool.tokenId, error: String(err) }));
        throw new LimiterUnavailableError();
      } finally {
        if (pool.inflight === inflight) pool.inflight = undefined;
      }
    })();
    return inflight.done;
  }

  private keepAlive(pool: Pool): void {
    if (pool.revoked || pool.inUse === 0 || pool.inflight) return;
    const now = Date.now();
    if (now - pool.leasedAt < this.timings.checkInMs || now - pool.failedAt < this.timings.checkInMs) return;
    // Failure is logged by call(); the next acquire or tick tries again.
    this.refresh(pool, "check-in").catch(() => undefined);
  }

  private scheduleIdleReturn(pool: Pool, waitUntil: WaitUntil): void {
    const arrivals = pool.arrivals;
    const idleReturn = async () => {
      await new Promise((resolve) => setTimeout(resolve, this.timings.idleReturnMs));
      while (pool.inflight) await pool.inflight.done.catch(() => undefined);
      if (!shouldReturnIdle({ ...pool, activityChanged: pool.arrivals !== arrivals })) return;
      // A pool dropped or reset meanwhile must not touch the lease its successor holds under the same holder id.
      if (this.pools.get(pool.tokenId) !== pool) return;
      await this.call(pool, 0).catch(() => undefined);
      // Dropped only if no acquire came meanwhile: a second pool for the token would share this
      // isolate's holder id in the DO, and the two would overwrite each other's lease.
      const untouched = pool.arrivals === arrivals && pool.inUse === 0 && pool.held === 0 && pool.inflight === undefined;
      if (untouched && !pool.revoked && this.pools.get(pool.tokenId) === pool) this.pools.delete(pool.tokenId);
    };
    try {
      waitUntil(idleReturn());
    } catch {
      // The request's context is already gone: the lease then simply runs out at its deadline.
    }
  }
}

function emptyPool(tokenId: string, ns: LimiterNamespace | undefined): Pool {
  return {
    tokenId,
    ns,
    limit: 0,
    held: 0,
    inUse: 0,
    leasedAt: -Infinity,
    revoked: false,
    headroom: INITIAL_HEADROOM,
    used: 0,
    arrivals: 0,
    waiting: 0,
    inflight: undefined,
    failedAt: -Infinity,
    timers: new Set(),
  };
}

function view(pool: Pool): PoolView {
  const { held, inUse, leasedAt, revoked, limit } = pool;
  return { held, inUse, leasedAt, revoked, limit, inflightWant: pool.inflight?.want };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lease call timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---- This isolate's pools ------------------------------------------------------------------

const isolatePools = new PermitPools();

/** Takes one of the token's permits: locally when the isolate's lease allows, else via one `lease` call. */
export function acquirePermit(ns: TokenLimiterNamespace, tokenId: string, limit: number, waitUntil: WaitUntil): Promise<PermitResult> {
  return isolatePools.acquire(ns as LimiterNamespace, tokenId, limit, waitUntil);
}

/** After a revoke in this isolate: later acquires refuse at once, without asking the DO. */
export function forgetToken(tokenId: string): void {
  isolatePools.forget(tokenId);
}

/** Revokes the token in its Durable Object (every isolate learns within one check-in), then here at once. */
export async function revokeToken(ns: TokenLimiterNamespace, tokenId: string): Promise<void> {
  await (ns as LimiterNamespace).getByName(tokenId).revoke(tokenId);
  forgetToken(tokenId);
}

/** Tests: forget every pool and restore the default timings. */
export function resetPermitPools(): void {
  isolatePools.reset();
}

/** Tests: shorten the check-in interval, idle delay, etc. Undone by resetPermitPools(). */
export function setPermitPoolTimings(timings: Partial<LeaseTimings>): void {
  isolatePools.setTimings(timings);
}

export function permitPoolStats(tokenId: string): { held: number; inUse: number; revoked: boolean } | undefined {
  return isolatePools.stats(tokenId);
}

import { callLease } from "./lease-call";
import {
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_TIMINGS,
  type LeaseTimings,
  MAX_WAIT_CEILING_MS,
  leaseWant,
  nextHeadroom,
  nextStep,
  retryAfterSeconds,
  shouldHandBack,
} from "./lease-policy";
import { type CallOutcome, type LimiterNamespace, type Pool, type WaitUntil, type Waiter, emptyPool, failedOutcome, view, withFloor, withTimeout } from "./pool-state";
import { ABORTED, type AcquireOptions, type Permit, type PermitResult, refusedAs, UNAVAILABLE } from "./permit-result";

/**
 * The isolate side of the limiter: each isolate leases a small batch of a token's permits from
 * the token's Durable Object and hands them out locally, so most requests make no DO call. An
 * acquire that finds no permit waits in arrival order, for a bounded time, for one released here
 * or granted by the next call. Refusals and failures are values, never thrown: the data path
 * (src/data/permit.ts) maps them to HTTP. Design, invariant and costs: docs/limiter.md.
 */

/** How often an acquire may go round (call, then look again) before it joins the queue. */
const MAX_ROUNDS = 4;
/** Pools kept per isolate; idle ones beyond this are dropped (their leases expire in the DO). */
const MAX_POOLS = 10_000;
/** Weight of the newest hold time in the pool's mean (for Retry-After). */
const HOLD_EWMA_WEIGHT = 0.2;

/** One isolate's pools, keyed by token id. Tests and the simulator build their own, one per simulated isolate. */
export class PermitPools {
  private readonly pools = new Map<string, Pool>();
  private timings: LeaseTimings;
  private holderId: string | undefined;

  /**
   * @param holder this isolate's id in the DOs; drawn lazily because Workers forbid randomness at startup.
   * @param clock the pool's time (tests drive it instead of sleeping; timers stay real).
   */
  constructor(
    holder?: string,
    timings: Partial<LeaseTimings> = {},
    private readonly clock: () => number = () => Date.now(),
  ) {
    this.holderId = holder;
    this.timings = withFloor({ ...DEFAULT_TIMINGS, ...timings });
  }

  get holder(): string {
    return (this.holderId ??= crypto.randomUUID());
  }

  setTimings(timings: Partial<LeaseTimings>): void {
    this.timings = withFloor({ ...this.timings, ...timings });
  }

  async acquire(ns: LimiterNamespace, tokenId: string, limit: number, waitUntil: WaitUntil, options: AcquireOptions = {}): Promise<PermitResult> {
    const pool = this.poolFor(ns, tokenId);
    pool.ns = ns;
    if (options.location && !pool.location) {
      pool.location = options.location;
      // A new pool starts at its location's object (the token's object would see a storm of first
      // calls from every isolate otherwise); a location object that serves one isolate alone for
      // LONE_MS sends it to the token's object, which sends it back once many isolates hold directly.
      if (pool.arrivals === 0 && pool.leasedAt === -Infinity) pool.route = "location";
    }
    pool.limit = limit;
    const me = ++pool.arrivals;
    const startedAt = this.clock();
    let last: CallOutcome | undefined;
    try {
      for (let round = 0; ; round++) {
        if (options.signal?.aborted) return ABORTED;
        // Right after a call this acquire waited for, the lease counts as fresh however slow the answer was.
        const now = last === undefined ? this.clock() : Math.min(this.clock(), pool.leasedAt);
        const step = nextStep(view(pool), now, this.timings.checkInMs);
        if (step === "revoked") return refusedAs(pool);
        // Arrival order: nobody overtakes an acquire already waiting.
        if (step === "local" && pool.queue.length === 0) return { ok: true, permit: this.take(pool, waitUntil) };
        // A call that counted this acquire and still came back short (or failed): the token is at its limit here; wait.
        const counted = last !== undefined && last.seq >= me && (last.short || last.failed);
        // Contended and busy here: a local release is the quickest permit; the queue's head asks the DO meanwhile.
        const turnover = step === "exhausted" && pool.contended && pool.lastCall?.outcome.short === true && pool.inUse > 0;
        if (step === "full" || step === "local" || turnover || round >= MAX_ROUNDS || counted) {
          // The wait is counted from arrival: a slow call eats into it.
          return await this.wait(pool, waitUntil, options, startedAt);
        }
        pool.calling++;
        try {
          last = await this.refresh(pool, step, waitUntil);
        } finally {
          pool.calling--;
        }
      }
    } finally {
      this.maybeHandBack(pool, waitUntil);
    }
  }

  forget(tokenId: string): void {
    const pool = this.pools.get(tokenId);
    if (pool) {
      pool.revoked = true;
      pool.held = 0;
      pool.queue.forEach((w) => w.wake());
    } else {
      this.pools.set(tokenId, { ...emptyPool(tokenId, undefined), revoked: true });
    }
  }

  stats(tokenId: string): { held: number; inUse: number; waiting: number; revoked: boolean } | undefined {
    const pool = this.pools.get(tokenId);
    return pool && { held: pool.held, inUse: pool.inUse, waiting: pool.queue.length, revoked: pool.revoked };
  }

  /** Forgets every pool and stops its timers (a simulated isolate that dies; tests clean up). */
  reset(): void {
    for (const pool of this.pools.values()) {
      for (const timer of pool.timers) clearInterval(timer);
      pool.revoked = true; // wakes nobody into a dropped pool's lease
      pool.queue.forEach((w) => w.wake());
    }
    this.pools.clear();
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
      if (pool.inUse === 0 && pool.calling === 0 && pool.queue.length === 0 && pool.inflight === undefined) this.pools.delete(tokenId);
    }
  }

  /** Joins the queue until a permit is free here, the deadline passes, or the client leaves. */
  private async wait(pool: Pool, waitUntil: WaitUntil, options: AcquireOptions, arrivedAt: number): Promise<PermitResult> {
    const deadline = arrivedAt + Math.max(0, Math.min(MAX_WAIT_CEILING_MS, options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS));
    const signal = options.signal;
    let wakeUp = () => {};
    const waiter: Waiter = { granted: false, wake: () => wakeUp() };
    const onAbort = () => waiter.wake();
    signal?.addEventListener("abort", onAbort);
    pool.queue.push(waiter);
    try {
      for (;;) {
        this.serveQueue(pool);
        if (signal?.aborted) return ABORTED;
        if (waiter.granted) return { ok: true, permit: this.permitFor(pool, waitUntil) };
        if (pool.revoked) return refusedAs(pool);
        const now = this.clock();
        if (now >= deadline) return pool.lastCall?.outcome.failed ? UNAVAILABLE : this.refusal(pool, pool.queue.indexOf(waiter));
        // Sleep until woken or the deadline — a timer of this request's own keeps its context alive.
        const woken = new Promise<void>((resolve) => (wakeUp = resolve));
        const sleeps: Promise<unknown>[] = [woken];
        let sleepMs = deadline - now;
        const step = nextStep(view(pool), now, this.timings.checkInMs);
        if (pool.queue.find((w) => !w.granted) === waiter && (step === "check-in" || step === "exhausted")) {
          // The head of the queue asks the DO for what the queue needs, at most once per pollMs.
          const last = pool.lastCall;
          const pollAt = last && (last.outcome.short || last.outcome.failed) ? last.at + this.timings.pollMs : -Infinity;
          if (pool.inflight || pollAt <= now) sleeps.push(this.refresh(pool, step, waitUntil));
          else sleepMs = Math.min(sleepMs, pollAt - now);
        }
        let timer: ReturnType<typeof setTimeout> | null = null;
        sleeps.push(new Promise((resolve) => (timer = setTimeout(resolve, sleepMs))));
        try {
          await Promise.race(sleeps);
        } finally {
          clearTimeout(timer);
        }
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      const i = pool.queue.indexOf(waiter);
      if (i >= 0) pool.queue.splice(i, 1);
      // Reserved but not taken (the client left at that moment): give it to the next in line.
      if (waiter.granted && signal?.aborted) {
        pool.inUse = Math.max(0, pool.inUse - 1);
        pool.used = Math.max(0, pool.used - 1);
        this.serveQueue(pool);
      }
      // Whoever is now at the head polls in its place (if a poll is what it needs).
      if (pool.inUse < pool.limit) pool.queue.find((w) => !w.granted)?.wake();
      this.maybeHandBack(pool, waitUntil);
    }
  }

  private refusal(pool: Pool, queuedAhead: number): PermitResult {
    return { ok: false, reason: "limit", retryAfterSeconds: retryAfterSeconds({ queuedAhead, inUse: pool.inUse, meanHoldMs: pool.meanHoldMs }) };
  }

  /** Reserves permits for the waiters at the head of the queue while the lease allows, and wakes them. Never does I/O. */
  private serveQueue(pool: Pool): void {
    for (const w of pool.queue) {
      if (w.granted) continue;
      const step = nextStep(view(pool), this.clock(), this.timings.checkInMs);
      if (step === "revoked") {
        pool.queue.forEach((x) => x.wake());
        return;
      }
      if (step !== "local") {
        // The head of the queue (once woken) polls the DO; at "full" only a release helps, and a release serves the queue itself.
        if (step !== "full") w.wake();
        return;
      }
      pool.inUse++;
      pool.used++;
      w.granted = true;
      w.wake();
    }
  }

  private take(pool: Pool, waitUntil: WaitUntil): Permit {
    pool.inUse++;
    pool.used++;
    return this.permitFor(pool, waitUntil);
  }

  /** The permit object for one counted in inUse; called in the holder's own request context. */
  private permitFor(pool: Pool, waitUntil: WaitUntil): Permit {
    // Runs in this request's context, which lives as long as the permit is held: a long request
    // keeps its isolate's lease renewed even when no other acquire comes by.
    const timer = setInterval(() => this.keepAlive(pool, waitUntil), this.timings.checkInMs);
    pool.timers.add(timer);
    const takenAt = this.clock();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        pool.timers.delete(timer);
        pool.inUse = Math.max(0, pool.inUse - 1);
        const held = this.clock() - takenAt;
        pool.meanHoldMs = pool.meanHoldMs === undefined ? held : pool.meanHoldMs + HOLD_EWMA_WEIGHT * (held - pool.meanHoldMs);
        this.serveQueue(pool); // reserves the permit for the next in line and wakes it
        this.maybeHandBack(pool, waitUntil);
      },
    };
  }

  /** Joins the call in flight, or starts one sized for the current demand. */
  private refresh(pool: Pool, reason: "check-in" | "exhausted", waitUntil: WaitUntil): Promise<CallOutcome> {
    // Joining a call another request started: wait with a timer of this request's own, or the
    // runtime may cancel this request as hung (its only pending work would be the other's I/O) —
    // the failure src/data/lookup.ts's joinLookup guards against.
    if (pool.inflight && this.clock() - pool.inflight.startedAt > 2 * this.timings.callTimeoutMs) {
      // Its request's context died mid-call and the answer will never come: forget it, assume the smaller lease.
      pool.held = Math.min(pool.held, pool.inflight.want);
      pool.leasedAt = -Infinity;
      pool.inflight = undefined;
    }
    if (pool.inflight) return withTimeout(pool.inflight.done, this.timings.callTimeoutMs).catch(() => failedOutcome(pool));
    pool.headroom = pool.contended ? 0 : nextHeadroom(pool.headroom, reason, pool.limit);
    return this.call(pool, leaseWant({ inUse: pool.inUse, waiting: pool.calling + pool.queue.length, headroom: pool.headroom, limit: pool.limit }), waitUntil);
  }

  /** One `lease` call for the pool (lease-call.ts); the queue's head looks again once it is answered. */
  private call(pool: Pool, want: number, waitUntil: WaitUntil): Promise<CallOutcome> {
    return callLease(pool, want, waitUntil, { holder: this.holder, timings: this.timings, clock: this.clock, answered: (p) => this.serveQueue(p) });
  }

  private keepAlive(pool: Pool, waitUntil: WaitUntil): void {
    if (pool.revoked || pool.inUse === 0 || pool.inflight) return;
    const now = this.clock();
    if (now - pool.leasedAt < this.timings.checkInMs || now - pool.failedAt < this.timings.checkInMs) return;
    void this.refresh(pool, "check-in", waitUntil);
  }

  /**
   * Under contention, permits held beyond what is in use and waiting go back at once (one call,
   * in the releasing request's context). Uncontended, nothing is called: see shouldHandBack.
   */
  private maybeHandBack(pool: Pool, waitUntil: WaitUntil): void {
    if (pool.handBackPending || pool.ns === undefined || !this.handBackDue(pool)) return;
    pool.handBackPending = true;
    const delay = Math.max(0, (pool.lastCall?.at ?? -Infinity) + this.timings.pollMs - this.clock());
    const handBack = async () => {
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      while (pool.inflight) await pool.inflight.done;
      pool.handBackPending = false;
      if (!this.handBackDue(pool) || this.pools.get(pool.tokenId) !== pool) return;
      await this.call(pool, this.keep(pool), waitUntil);
      // Dropped only if nothing here uses it: a second pool for the token would share this
      // isolate's holder id in the DO, and the two would overwrite each other's lease.
      const untouched = pool.inUse === 0 && pool.held === 0 && pool.queue.length === 0 && pool.calling === 0 && pool.inflight === undefined;
      if (untouched && !pool.revoked && this.pools.get(pool.tokenId) === pool) this.pools.delete(pool.tokenId);
    };
    // Nothing starts before waitUntil accepted the work: a release that runs outside its
    // request's context (the context is gone) must not make calls on its behalf.
    let start = () => {};
    const started = new Promise<void>((resolve) => (start = resolve));
    try {
      waitUntil(started.then(handBack));
    } catch {
      // The request's context is already gone: the lease then simply runs out at its deadline.
      pool.handBackPending = false;
      return;
    }
    start();
  }

  private handBackDue(pool: Pool): boolean {
    if (pool.calling > 0) return false;
    return shouldHandBack({ held: pool.held, keep: this.keep(pool), waiting: pool.queue.length, revoked: pool.revoked, contended: pool.contended });
  }

  /**
   * Permits kept when handing back: exactly those in use. (Keeping the recent peak instead was
   * tried in the simulation: the kept permits then sit idle in many isolates and refusals rose.)
   */
  private keep(pool: Pool): number {
    return Math.min(pool.limit, pool.inUse);
  }
}

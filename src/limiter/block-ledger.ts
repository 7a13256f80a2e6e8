import { type Lease, type LeaseGrant, type LeaseRequest, decideLease, livePermits } from "./lease-ledger";

/**
 * The second level (docs/limiter.md, "Per-location objects"): one object per token and location
 * leases a block of the token's permits from the token's Durable Object and re-leases it to the
 * isolates of its location with the same `lease` protocol, so the token's object sees one caller
 * per location instead of one per isolate. Pure apart from the injected parent and clock, so the
 * unit tests and the simulator run the same code as the LocationLimiter object.
 *
 * Invariant: the live sub-leases never sum to more than the block the token's object counts for
 * this holder, and no sub-lease outlives the block: while a call to the parent is in flight only
 * min(block, asked) is used; a sub-lease's deadline is capped at the block's (measured from the
 * ask, which is no later than the parent's decision); the block is never asked below the live
 * sub-leases. A fresh instance (after eviction) uses a new holder id, so the old block keeps
 * counting at the token's object until its deadline, covering the sub-leases it handed out.
 */

export interface BlockTimings {
  /** A block older than this is renewed (and revocation learnt) before it serves a sub-lease. */
  checkInMs: number;
  /** A block this close to its check-in is renewed in the background by the next call, so busy locations never wait on it. */
  renewAheadMs: number;
  /** Deadline asked for the block. */
  blockTtlMs: number;
  callTimeoutMs: number;
}

export const DEFAULT_BLOCK_TIMINGS: Readonly<BlockTimings> = Object.freeze({ checkInMs: 500, renewAheadMs: 250, blockTtlMs: 10_000, callTimeoutMs: 5_000 });
/** How long a sub-lease call that came up short waits for the token's object to grow the block. */
const GROW_WAIT_MS = 20;
/** After the token's object granted less than asked, the next growing call waits this long. */
const GROW_SPACING_MS = 100;
/** A holder refused permits (no sub-lease) counts in the location's demand this long after its ask. */
const WANT_MEMORY_MS = 1_000;
/** A shrinking call to the token's object follows the last call by at least this. */
const SHRINK_SPACING_MS = 250;
/** Deadline of a sub-lease while the token or this location is contended (≥ 2 isolate check-ins). */
const SHORT_SUB_LEASE_MS = 2_500;
/** An object that served one isolate alone this long sends it to the token's object. */
const LONE_MS = 5_000;
/** A sub-holder refused permits marks this location contended for this long. */
const SUB_CONTENTION_MS = 2_000;

export interface Parent {
  lease(req: LeaseRequest): Promise<LeaseGrant>;
}

const REVOKED: LeaseGrant = Object.freeze({ granted: 0, expiresAt: 0, revoked: true, contended: false });

export class BlockLedger {
  private readonly subs = new Map<string, Lease>();
  /** What each sub-holder asked for at its last call: the location's demand, which sizes the block. */
  private readonly wants = new Map<string, { want: number; demand: number; at: number }>();
  /** This location's fair share of the token, when the token's object said the locations need more than the limit. */
  private share: number | undefined;
  /** Local time the token's object last granted less than this location asked. */
  private parentShortAt = -Infinity;
  /** Permits the token's object holds for this location, and when they were asked for (local time). */
  private block = 0;
  private blockAskedAt = -Infinity;
  private revoked = false;
  /** Set with `revoked` when the token's object said the token expired, and when. */
  private expiredAt: number | undefined;
  private parentContended = false;
  private contendedUntil = 0;
  /** Requests reported by sub-holders, passed on to the token's object. */
  private used = 0;
  private limit = 0;
  private inflight: { want: number; done: Promise<void> } | undefined;
  /** Last time another isolate held a sub-lease here (starts at creation). */
  private lastCrowdedAt: number;

  constructor(
    /** This instance's holder id at the token's object (fresh per instance). */
    private readonly holder: string,
    private readonly parent: (tokenId: string) => Parent,
    private readonly clock: () => number = () => Date.now(),
    private readonly timings: BlockTimings = DEFAULT_BLOCK_TIMINGS,
    /** Keeps a call to the token's object that no caller waits for alive (the object's waitUntil). */
    private readonly background: (work: Promise<unknown>) => void = () => {},
  ) {
    this.lastCrowdedAt = clock();
  }

  async lease(req: LeaseRequest): Promise<LeaseGrant> {
    if (this.revoked) return this.refused();
    this.used += req.used;
    this.limit = req.limit;
    const tokenId = req.tokenId;
    if (tokenId === undefined) throw new RangeError("a location lease needs the token id");
    this.wants.set(req.holder, { want: req.want, demand: req.demand ?? req.want, at: this.clock() });
    // A holder asking for less than it holds gives the difference back before anything else, so a
    // renewal of the block below does not ask for permits it has just returned. Always safe: while
    // its call is out, the isolate uses no more than it asked for.
    const sub = this.subs.get(req.holder);
    if (sub !== undefined && sub.permits > req.want) this.subs.set(req.holder, { ...sub, permits: req.want });
    // A stale block is renewed before it serves (that is how revocation reaches this location);
    // otherwise the caller is answered from the block at once and any call to the token's object
    // runs behind it — a far location must not hold its isolates on that round trip.
    if (this.clock() - this.blockAskedAt >= this.timings.checkInMs) {
      await this.ask(tokenId, this.need(req.limit));
      if (this.revoked) return this.refused();
      if (this.clock() - this.blockAskedAt >= this.timings.checkInMs) return this.grant(0, 0, this.clock());
    }
    let d = this.decide(req);
    if (d.short && !this.inflight && this.clock() - this.parentShortAt >= GROW_SPACING_MS) {
      // Short here: ask the token's object for the location's demand, and wait for the answer
      // briefly — a near object answers within that, a far one is not waited for (the isolate
      // polls again and finds the grown block).
      const asked = this.ask(tokenId, this.need(req.limit)).catch(() => undefined);
      this.background(asked);
      let timer: ReturnType<typeof setTimeout> | null = null;
      await Promise.race([asked, new Promise((resolve) => (timer = setTimeout(resolve, GROW_WAIT_MS)))]);
      clearTimeout(timer);
      if (this.revoked) return this.refused();
      d = this.decide(req);
    } else if (!this.inflight) {
      const now = this.clock();
      const need = this.need(req.limit);
      const target = need.want;
      // Renew ahead of the check-in so a busy location never waits on it; grow to the demand;
      // shrink to it when the token is contended (at most every SHRINK_SPACING_MS, so the
      // token's object does not see a call per isolate call).
      const renewDue = now - this.blockAskedAt >= this.timings.checkInMs - this.timings.renewAheadMs;
      const grow = target > this.block && now - this.parentShortAt >= GROW_SPACING_MS;
      // Nothing sub-leased any more (the last isolate handed back, or moved to the token's
      // object): the block goes back at once — held here it would keep that isolate short.
      const idle = livePermits(this.subs, now) === 0;
      const shrink = target < this.block && (idle || (this.parentContended && now - this.blockAskedAt >= SHRINK_SPACING_MS));
      if (grow || shrink || renewDue) this.background(this.ask(tokenId, need).catch(() => undefined));
    }
    // Contended only if still short after the block had its chance to grow: a shortfall the
    // growth covers would have the isolates hand permits back after every release.
    if (d.short) this.contendedUntil = this.clock() + SUB_CONTENTION_MS;
    return this.grant(d.granted, d.expiresAt, this.clock(), req.holder);
  }

  /** Sets the holder's sub-lease to what the block allows now. */
  private decide(req: LeaseRequest): { granted: number; expiresAt: number; short: boolean } {
    const now = this.clock();
    const deadline = this.blockAskedAt + this.timings.blockTtlMs;
    // Under contention a sub-lease lives SHORT_SUB_LEASE_MS: an isolate renews what it uses every
    // check-in (1 s), and an idle one's permits come back within that.
    const contended = this.parentContended || now < this.contendedUntil;
    const ttlMs = Math.min(req.ttlMs, deadline - now, contended ? SHORT_SUB_LEASE_MS : Infinity);
    // The block's deadline has passed (its renewal failed): nothing to hand out, nothing to change.
    if (ttlMs <= 0) return { granted: 0, expiresAt: 0, short: req.want > 0 };
    const pie = Math.min(this.usable(), this.share ?? Infinity);
    const d = decideLease(this.subs, { holder: req.holder, want: req.want, limit: this.usable(), ttlMs, demand: req.demand }, now, pie);
    if (d.lease) this.subs.set(req.holder, d.lease);
    else {
      this.subs.delete(req.holder);
      if (req.want === 0) this.wants.delete(req.holder);
    }
    return { granted: d.granted, expiresAt: d.lease?.expiresAt ?? 0, short: d.short };
  }

  /**
   * What this location needs: `want`, the block to ask for — what its live isolates last asked
   * for (at least what they hold) plus headroom, no more than its fair share when the token's
   * object gave one; `demand`, the isolates' own estimates, for the token's fair shares.
   */
  private need(limit: number): { want: number; demand: number } {
    const now = this.clock();
    let want = 0;
    let demand = 0;
    for (const [holder, w] of this.wants) {
      const sub = this.subs.get(holder);
      const live = sub !== undefined && sub.expiresAt > now ? sub.permits : 0;
      // A holder whose sub-lease ran out, or who was refused and has not asked again since, no longer counts.
      if ((sub !== undefined && sub.expiresAt <= now) || (sub === undefined && now - w.at >= WANT_MEMORY_MS)) {
        this.subs.delete(holder);
        this.wants.delete(holder);
        continue;
      }
      want += Math.max(live, w.want);
      demand += w.demand;
    }
    want = Math.min(limit, want + this.headroom(want));
    if (this.share !== undefined) want = Math.min(want, Math.ceil(this.share));
    return { want, demand: Math.min(limit, demand) };
  }

  /** Permits leased out to isolates, for tests and operators. */
  state(): { block: number; subLeased: number; revoked: boolean } {
    return { block: this.block, subLeased: livePermits(this.subs, this.clock()), revoked: this.revoked };
  }

  /** The answer once the token's object refused the token: revoked, or expired at a known time. */
  private refused(): LeaseGrant {
    return this.expiredAt === undefined ? REVOKED : { ...REVOKED, expiredAt: this.expiredAt };
  }

  private usable(): number {
    return this.inflight ? Math.min(this.block, this.inflight.want) : this.block;
  }

  /** Extra permits asked for the block: a quarter more than needed, none while the token is contended. */
  private headroom(need: number): number {
    return this.parentContended ? 0 : Math.ceil(need / 4);
  }

  private grant(granted: number, expiresAt: number, now: number, holder?: string): LeaseGrant {
    const grant: LeaseGrant = { granted, expiresAt, revoked: false, contended: this.parentContended || now < this.contendedUntil };
    // A lone isolate here gains nothing from this level and pays a second call: once this object
    // has served it alone for LONE_MS, send it to the token's object.
    if (holder !== undefined) {
      for (const [h, lease] of this.subs) if (h !== holder && lease.expiresAt > now) this.lastCrowdedAt = now;
      if (now - this.lastCrowdedAt >= LONE_MS) grant.route = "token";
    }
    return grant;
  }

  /** One call to the token's object at a time; concurrent askers share it. Never asks below the live sub-leases. */
  private async ask(tokenId: string, need: { want: number; demand: number }): Promise<void> {
    if (this.inflight) return this.inflight.done;
    const now = this.clock();
    const asked = Math.max(need.want, livePermits(this.subs, now));
    const used = this.used;
    this.used = 0;
    const inflight = { want: asked, done: Promise.resolve() };
    this.inflight = inflight;
    inflight.done = (async () => {
      try {
        const grant = await withTimeout(
          this.parent(tokenId).lease({ tokenId, holder: this.holder, want: asked, limit: this.limit, ttlMs: this.timings.blockTtlMs, used, demand: need.demand }),
          this.timings.callTimeoutMs,
        );
        if (grant.revoked) {
          this.revoked = true;
          this.expiredAt = grant.expiredAt;
          this.block = 0;
          this.subs.clear();
        } else {
          this.block = grant.granted;
          this.blockAskedAt = now;
          this.parentContended = grant.contended;
          this.share = grant.share;
          if (grant.granted < asked) this.parentShortAt = this.clock();
        }
      } catch {
        // Lost or failed: the parent may have applied it; assume the smaller block, renew next time.
        this.used += used;
        this.block = Math.min(this.block, asked);
        this.blockAskedAt = -Infinity;
      } finally {
        this.inflight = undefined;
      }
    })();
    return inflight.done;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`block call timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

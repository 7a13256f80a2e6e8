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
  /** Deadline asked for the block. */
  blockTtlMs: number;
  callTimeoutMs: number;
}

export const DEFAULT_BLOCK_TIMINGS: Readonly<BlockTimings> = Object.freeze({ checkInMs: 500, blockTtlMs: 10_000, callTimeoutMs: 5_000 });
/** A shrinking call to the token's object follows the last call by at least this. */
const SHRINK_SPACING_MS = 250;
/** Deadline of a sub-lease while the token or this location is contended (≥ 2 isolate check-ins). */
const SHORT_SUB_LEASE_MS = 2_500;
/** An object that served one isolate alone this long sends it to the token's object. */
const LONE_MS = 30_000;
/** A sub-holder refused permits marks this location contended for this long. */
const SUB_CONTENTION_MS = 2_000;

export interface Parent {
  lease(req: LeaseRequest): Promise<LeaseGrant>;
}

const REVOKED: LeaseGrant = Object.freeze({ granted: 0, expiresAt: 0, revoked: true, contended: false });

export class BlockLedger {
  private readonly subs = new Map<string, Lease>();
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
  ) {
    this.lastCrowdedAt = clock();
  }

  async lease(req: LeaseRequest): Promise<LeaseGrant> {
    if (this.revoked) return this.refused();
    this.used += req.used;
    this.limit = req.limit;
    const tokenId = req.tokenId;
    if (tokenId === undefined) throw new RangeError("a location lease needs the token id");
    for (let round = 0; round < 3; round++) {
      const now = this.clock();
      const others = livePermits(this.subs, now, req.holder);
      const fresh = now - this.blockAskedAt < this.timings.checkInMs && !this.inflight;
      if (fresh && others + req.want <= this.usable()) break;
      if (fresh && round > 0) break; // asked already: take what there is
      await this.ask(tokenId, Math.min(req.limit, others + req.want + this.headroom(others + req.want)));
      if (this.revoked) return this.refused();
    }
    const now = this.clock();
    const deadline = this.blockAskedAt + this.timings.blockTtlMs;
    // Under contention a sub-lease lives SHORT_SUB_LEASE_MS: an isolate renews what it uses every
    // check-in (1 s), and an idle one's permits come back within that.
    const contended = this.parentContended || now < this.contendedUntil;
    const ttlMs = Math.min(req.ttlMs, deadline - now, contended ? SHORT_SUB_LEASE_MS : Infinity);
    if (ttlMs <= 0 || now - this.blockAskedAt >= this.timings.blockTtlMs) return this.grant(0, 0, now);
    const d = decideLease(this.subs, { holder: req.holder, want: req.want, limit: this.usable(), ttlMs }, now);
    if (d.short) this.contendedUntil = now + SUB_CONTENTION_MS;
    if (d.lease) this.subs.set(req.holder, d.lease);
    else this.subs.delete(req.holder);
    // Under contention the block shrinks to what is leased out, so other locations get the rest
    // (at most once per check-in interval: the token's object must not see a call per isolate call).
    if (this.parentContended && !this.inflight && now - this.blockAskedAt >= SHRINK_SPACING_MS && this.block > livePermits(this.subs, now)) {
      void this.ask(tokenId, livePermits(this.subs, now)).catch(() => undefined);
    }
    return this.grant(d.granted, d.lease?.expiresAt ?? 0, now, req.holder);
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
  private async ask(tokenId: string, want: number): Promise<void> {
    if (this.inflight) return this.inflight.done;
    const now = this.clock();
    const asked = Math.max(want, livePermits(this.subs, now));
    const used = this.used;
    this.used = 0;
    const inflight = { want: asked, done: Promise.resolve() };
    this.inflight = inflight;
    inflight.done = (async () => {
      try {
        const grant = await withTimeout(
          this.parent(tokenId).lease({ tokenId, holder: this.holder, want: asked, limit: this.limit, ttlMs: this.timings.blockTtlMs, used }),
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

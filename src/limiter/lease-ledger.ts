import { z } from "zod";

/**
 * The Durable Object side's accounting, free of storage so it can be tested in Node and shared
 * with test fakes: the `lease` protocol and the rule that keeps the sum of live leases within
 * the limit. token-limiter.ts persists what this decides.
 */

/** Longest lease deadline a holder may ask for. */
export const MAX_LEASE_TTL_MS = 60_000;
/** A refusal marks the token contended for this long; holders then stop keeping headroom. */
export const CONTENTION_WINDOW_MS = 2_000;

export const LeaseRequest = z.object({
  /** The token id (the object's name); needed for the last-used write to D1. */
  tokenId: z.string().min(1).max(200).optional(),
  /** Random id of the asking isolate. */
  holder: z.string().min(1).max(200),
  /** Permits the holder wants to hold in total after this call; 0 drops its lease. */
  want: z.number().int().min(0).max(1_000_000),
  limit: z.number().int().min(0).max(1_000_000),
  ttlMs: z.number().int().min(1).max(MAX_LEASE_TTL_MS),
  /** Requests the holder served since its previous call. */
  used: z.number().int().min(0),
  /**
   * Permits the holder needs by its own estimate (a location: what its isolates need). When the
   * holders together need more than the limit, each is held to its fair share of it (`share`).
   * Absent: `want`.
   */
  demand: z.number().min(0).max(1_000_000).optional(),
  /** The holder's per-token usage (a UsageShipment, docs/usage.md), validated apart: a bad one never fails the lease. */
  usage: z.unknown().optional(),
});
export type LeaseRequest = z.infer<typeof LeaseRequest>;

export interface LeaseGrant {
  /** Permits the holder now holds in total (≤ want). */
  granted: number;
  /** Epoch ms at which the Durable Object drops this lease unless renewed (0 when none). */
  expiresAt: number;
  revoked: boolean;
  /**
   * With `revoked`: the token is refused because its expiry (brought forward by a rotation) has
   * passed, at this epoch ms — so the data path can say it expired rather than "unknown".
   */
  expiredAt?: number;
  /** Some holder was refused permits within the last CONTENTION_WINDOW_MS. */
  contended: boolean;
  /**
   * Present when the holders together need more than the limit: this holder's max-min fair share
   * of it. It is not granted more than that; a holder above it shrinks to it as its requests end.
   */
  share?: number;
  /**
   * Where to lease next: "location" from the token's object when it has many isolates as direct
   * holders; "token" from a location's object that serves no other isolate (a lone, sparse one
   * then pays one call per request, not two).
   */
  route?: "location" | "token";
  /** When the call carried `usage`: applied (or already applied), or refused (malformed, another token's); either way settled. */
  usage?: "applied" | "refused";
}

/** Direct isolate holders past which the token's object sends isolates to their location's object. */
export const ROUTE_THRESHOLD = 32;
/** Holder ids of location objects start with this. */
export const LOCATION_HOLDER_PREFIX = "loc:";

/** Whether to tell a direct (isolate) holder to go through its location's object. */
export function routeViaLocation(leases: ReadonlyMap<string, Lease>, holder: string, now: number): boolean {
  if (holder.startsWith(LOCATION_HOLDER_PREFIX)) return false;
  let direct = 0;
  for (const [h, lease] of leases) if (lease.expiresAt > now && !h.startsWith(LOCATION_HOLDER_PREFIX)) direct++;
  return direct > ROUTE_THRESHOLD;
}

export interface Lease {
  permits: number;
  expiresAt: number;
  /** The holder's estimate of what it needs (LeaseRequest.demand); absent: `permits`. */
  demand?: number;
}

/** A holder that asked and got nothing counts in the fair shares this long (it asks again sooner while it waits). */
export const INTEREST_TTL_MS = 2_000;

/**
 * Max-min fair share of `pie` for `holder` (water-filling): holders needing less than an even
 * split get what they need, and what they leave is split evenly among the rest.
 */
export function fairShare(demands: readonly number[], holderDemand: number, pie: number): number {
  const sorted = [...demands].sort((a, b) => a - b);
  let left = pie;
  let n = sorted.length;
  for (const d of sorted) {
    const even = left / n;
    if (d >= even) return Math.min(holderDemand, even);
    left -= d;
    n--;
  }
  return holderDemand;
}

/** Permits held by unexpired leases, leaving out `except`. */
export function livePermits(leases: ReadonlyMap<string, Lease>, now: number, except?: string): number {
  let sum = 0;
  for (const [holder, lease] of leases) {
    if (holder !== except && lease.expiresAt > now) sum += lease.permits;
  }
  return sum;
}

/**
 * The one rule: a holder gets what it wants, but never so much that the live leases of all
 * holders together exceed the limit. Asking for less than it holds returns the difference.
 * When the holders together need more than the limit (`pie`, the limit unless a parent's share
 * is smaller), a holder does not grow past its fair share; it keeps what it holds (up to what it
 * asks), since its requests may be using it.
 */
export function decideLease(
  leases: ReadonlyMap<string, Lease>,
  req: Pick<LeaseRequest, "holder" | "want" | "limit" | "ttlMs" | "demand">,
  now: number,
  pie: number = req.limit,
): { granted: number; lease: Lease | undefined; short: boolean; share?: number } {
  const others = livePermits(leases, now, req.holder);
  const demand = req.demand ?? req.want;
  const demands = [demand];
  for (const [holder, lease] of leases) if (holder !== req.holder && lease.expiresAt > now) demands.push(lease.demand ?? lease.permits);
  const total = demands.reduce((a, b) => a + b, 0);
  let cap = req.want;
  let share: number | undefined;
  if (total > pie) {
    share = fairShare(demands, demand, pie);
    const own = leases.get(req.holder);
    const held = own !== undefined && own.expiresAt > now ? own.permits : 0;
    cap = Math.min(req.want, Math.max(Math.ceil(share), held));
  }
  const granted = Math.max(0, Math.floor(Math.min(cap, req.limit - others)));
  // A holder that got nothing but still needs permits is remembered briefly, so others' shares leave room for it.
  const lease = granted > 0 ? { permits: granted, expiresAt: now + req.ttlMs, demand } : req.want > 0 && demand > 0 ? { permits: 0, expiresAt: now + Math.min(req.ttlMs, INTEREST_TTL_MS), demand } : undefined;
  return { granted, lease, short: granted < req.want, ...(share !== undefined ? { share } : {}) };
}

/**
 * Less than a tenth of the limit (at least one permit) left unleased: holders are told the token
 * is contended, so they stop keeping headroom and hand spare permits back at once.
 */
export function isTight(live: number, limit: number): boolean {
  return limit - live < Math.max(1, Math.ceil(limit / 10));
}

export function expiredHolders(leases: ReadonlyMap<string, Lease>, now: number): string[] {
  return [...leases].filter(([, lease]) => lease.expiresAt <= now).map(([holder]) => holder);
}

export function earliestExpiry(leases: ReadonlyMap<string, Lease>): number | undefined {
  let min: number | undefined;
  for (const lease of leases.values()) if (min === undefined || lease.expiresAt < min) min = lease.expiresAt;
  return min;
}

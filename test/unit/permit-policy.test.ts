import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { INTEREST_TTL_MS, type Lease, ROUTE_THRESHOLD, decideLease, earliestExpiry, expiredHolders, fairShare, isTight, livePermits, routeViaLocation } from "../../src/limiter/lease-ledger";
import {
  demandEstimate,
  INITIAL_HEADROOM,
  type PoolView,
  leaseWant,
  nextHeadroom,
  nextStep,
  retryAfterSeconds,
  shouldHandBack,
} from "../../src/limiter/lease-policy";

const CHECK_IN = 1_000;
const base: PoolView = { held: 3, inUse: 1, leasedAt: 10_000, revoked: false, limit: 10, inflightWant: undefined };

describe("nextStep: what an acquire does", () => {
  it.each<[string, Partial<PoolView>, number, ReturnType<typeof nextStep>]>([
    ["fresh lease with a spare permit", {}, 10_500, "local"],
    ["fresh lease, all permits in use", { inUse: 3 }, 10_500, "exhausted"],
    ["lease as old as the check-in interval", {}, 11_000, "check-in"],
    ["no lease yet", { held: 0, inUse: 0, leasedAt: -Infinity }, 0, "check-in"],
    ["revoked, even with spare permits", { revoked: true }, 10_500, "revoked"],
    ["this isolate alone is at the limit", { held: 10, inUse: 10 }, 10_500, "full"],
    ["limit lowered below what is in use", { limit: 1, inUse: 2 }, 10_500, "full"],
    ["call in flight that will shrink the lease to what is in use", { inflightWant: 1 }, 10_500, "exhausted"],
    ["call in flight that keeps room", { inflightWant: 2 }, 10_500, "local"],
    ["idle return in flight", { inUse: 0, inflightWant: 0 }, 10_500, "exhausted"],
  ])("%s", (_name, patch, now, expected) => {
    expect(nextStep({ ...base, ...patch }, now, CHECK_IN)).toBe(expected);
  });
});

describe("leaseWant and headroom", () => {
  it("asks for what is in use and waiting plus headroom, capped at the limit", () => {
    expect(leaseWant({ inUse: 2, waiting: 1, headroom: 1, limit: 10 })).toBe(4);
    expect(leaseWant({ inUse: 8, waiting: 3, headroom: 4, limit: 10 })).toBe(10);
    expect(leaseWant({ inUse: 0, waiting: 0, headroom: 0, limit: 10 })).toBe(0);
    expect(leaseWant({ inUse: 0, waiting: 1, headroom: 1, limit: 0 })).toBe(0);
  });

  it("doubles when demand outruns the lease, halves at check-in, drops to zero under contention", () => {
    expect(nextHeadroom(1, "exhausted", 100)).toBe(2);
    expect(nextHeadroom(16, "exhausted", 100)).toBe(32);
    expect(nextHeadroom(64, "exhausted", 100)).toBe(100);
    expect(nextHeadroom(0, "exhausted", 100)).toBe(INITIAL_HEADROOM);
    expect(nextHeadroom(32, "check-in", 100)).toBe(16);
    expect(nextHeadroom(1, "check-in", 100)).toBe(INITIAL_HEADROOM);
    expect(nextHeadroom(0, "check-in", 100)).toBe(INITIAL_HEADROOM);
    expect(nextHeadroom(32, "contended", 100)).toBe(0);
  });

  it("never exceeds the limit", () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.constantFrom("exhausted", "check-in", "contended") as fc.Arbitrary<"exhausted" | "check-in" | "contended">, fc.integer({ min: 1, max: 600 }), (h, ev, limit) => {
        const next = nextHeadroom(Math.min(h, limit), ev, limit);
        return next >= 0 && next <= limit;
      }),
      { seed: 11, numRuns: 500 },
    );
  });

  it("hands spare permits back only when the token is contended and nobody here waits", () => {
    const spare = { held: 3, keep: 1, waiting: 0, revoked: false, contended: true };
    expect(shouldHandBack(spare)).toBe(true);
    expect(shouldHandBack({ ...spare, contended: false })).toBe(false); // sparse and uncontended: keep it, no call
    expect(shouldHandBack({ ...spare, waiting: 1 })).toBe(false);
    expect(shouldHandBack({ ...spare, held: 1 })).toBe(false);
    expect(shouldHandBack({ ...spare, revoked: true })).toBe(false);
  });
});

describe("retryAfterSeconds: computed from what the pool knows", () => {
  it("is the releases needed to reach this request, at the mean hold time over the permits in use", () => {
    expect(retryAfterSeconds({ queuedAhead: 0, inUse: 5, meanHoldMs: 20 })).toBe(1);
    expect(retryAfterSeconds({ queuedAhead: 9, inUse: 2, meanHoldMs: 1_000 })).toBe(5);
    expect(retryAfterSeconds({ queuedAhead: 0, inUse: 1, meanHoldMs: 2_500 })).toBe(3);
    expect(retryAfterSeconds({ queuedAhead: 1_000, inUse: 1, meanHoldMs: 1_000 })).toBe(60);
  });

  it("assumes 1 s per permit until one has been released", () => {
    expect(retryAfterSeconds({ queuedAhead: 3, inUse: 2, meanHoldMs: undefined })).toBe(2);
  });
});

describe("demandEstimate: what an isolate reports it needs", () => {
  it("is arrival rate times mean hold (Little's law), at least what is in use, and `want` until both are measured", () => {
    expect(demandEstimate({ ratePerMs: 0.375, meanHoldMs: 20, inUse: 3, want: 100 })).toBeCloseTo(7.5); // a long queue does not inflate it
    expect(demandEstimate({ ratePerMs: 0.00025, meanHoldMs: 50, inUse: 0, want: 2 })).toBeCloseTo(0.0125); // a sparse isolate needs a sliver
    expect(demandEstimate({ ratePerMs: 0.001, meanHoldMs: 100, inUse: 4, want: 5 })).toBe(4);
    expect(demandEstimate({ ratePerMs: undefined, meanHoldMs: 20, inUse: 0, want: 3 })).toBe(3);
    expect(demandEstimate({ ratePerMs: 0.1, meanHoldMs: undefined, inUse: 0, want: 2 })).toBe(2);
  });
});

describe("decideLease: the Durable Object's rule", () => {
  const ttlMs = 10_000;
  const leases = (entries: [string, number, number][]) => new Map<string, Lease>(entries.map(([h, permits, expiresAt]) => [h, { permits, expiresAt }]));

  it("grants what is asked while it fits", () => {
    expect(decideLease(leases([["b", 3, 5_000]]), { holder: "a", want: 4, limit: 10, ttlMs }, 1_000)).toEqual({
      granted: 4,
      lease: { permits: 4, expiresAt: 11_000, demand: 4 },
      short: false,
    });
  });

  it("grants only what is left, and says it fell short", () => {
    expect(decideLease(leases([["b", 8, 5_000]]), { holder: "a", want: 4, limit: 10, ttlMs }, 1_000)).toMatchObject({ granted: 2, short: true });
    // Nothing left: a holds nothing, but is remembered briefly with its demand (a waiting holder).
    expect(decideLease(leases([["b", 10, 5_000]]), { holder: "a", want: 1, limit: 10, ttlMs }, 1_000)).toMatchObject({
      granted: 0,
      lease: { permits: 0, expiresAt: 1_000 + INTEREST_TTL_MS, demand: 1 },
      short: true,
    });
  });

  it("splits the limit max-min fairly by demand: small needs met, the rest split evenly", () => {
    expect(fairShare([2, 10, 10], 2, 12)).toBe(2);
    expect(fairShare([2, 10, 10], 10, 12)).toBe(5);
    expect(fairShare([1, 1], 1, 10)).toBe(1);
    expect(fairShare([30, 30, 30, 30, 30], 30, 100)).toBe(20);
    expect(fairShare([0.2, 0.3, 50], 50, 10)).toBeCloseTo(9.5);
  });

  it("when holders need more than the limit, a holder does not grow past its fair share but keeps what it holds", () => {
    // b holds 8 and needs 8; a needs 8: shares are 5 each. a gets only the 2 that are free, b may keep its 8 (its requests may use them).
    const l = new Map<string, Lease>([["b", { permits: 8, expiresAt: 5_000, demand: 8 }]]);
    const first = decideLease(l, { holder: "a", want: 8, limit: 10, ttlMs, demand: 8 }, 1_000);
    expect(first).toMatchObject({ granted: 2, short: true, share: 5 });
    l.set("a", first.lease!);
    l.set("b", { permits: 7, expiresAt: 5_000, demand: 8 }); // b handed one back
    expect(decideLease(l, { holder: "b", want: 9, limit: 10, ttlMs, demand: 8 }, 1_000)).toMatchObject({ granted: 7, share: 5 }); // one is free, but b is past its share
    // a, waiting with 2, gets more as b shrinks towards its share.
    l.set("a", { permits: 2, expiresAt: 11_000, demand: 8 });
    l.set("b", { permits: 5, expiresAt: 11_000, demand: 8 });
    expect(decideLease(l, { holder: "a", want: 8, limit: 10, ttlMs, demand: 8 }, 1_000)).toMatchObject({ granted: 5, share: 5 });
    // Below the limit in total, nobody is capped.
    expect(decideLease(new Map([["b", { permits: 2, expiresAt: 5_000, demand: 2 }]]), { holder: "a", want: 7, limit: 10, ttlMs, demand: 7 }, 1_000)).not.toHaveProperty("share");
  });

  it("takes back permits when asked for fewer, and drops the lease on want 0", () => {
    const l = leases([["a", 5, 5_000]]);
    expect(decideLease(l, { holder: "a", want: 2, limit: 10, ttlMs }, 1_000)).toMatchObject({ granted: 2, lease: { permits: 2 } });
    expect(decideLease(l, { holder: "a", want: 0, limit: 10, ttlMs }, 1_000)).toEqual({ granted: 0, lease: undefined, short: false });
  });

  it("does not count expired leases", () => {
    const l = leases([["b", 10, 1_000]]);
    expect(decideLease(l, { holder: "a", want: 3, limit: 10, ttlMs }, 1_000)).toMatchObject({ granted: 3 });
    expect(livePermits(l, 999)).toBe(10);
    expect(livePermits(l, 1_000)).toBe(0);
    expect(expiredHolders(l, 1_000)).toEqual(["b"]);
    expect(earliestExpiry(leases([["a", 1, 7], ["b", 1, 3]]))).toBe(3);
    expect(earliestExpiry(new Map())).toBeUndefined();
  });

  it("sends isolates to their location's object once more than 32 hold leases on the token's object directly", () => {
    const direct = (n: number, expiresAt = 5_000) => new Map<string, Lease>(Array.from({ length: n }, (_, i) => [`iso-${i}`, { permits: 1, expiresAt }]));
    expect(routeViaLocation(direct(ROUTE_THRESHOLD), "iso-new", 1_000)).toBe(false);
    expect(routeViaLocation(direct(ROUTE_THRESHOLD + 1), "iso-new", 1_000)).toBe(true);
    expect(routeViaLocation(direct(ROUTE_THRESHOLD + 1, 1_000), "iso-new", 1_000)).toBe(false); // expired leases do not count
    const withLocations = direct(ROUTE_THRESHOLD);
    for (let i = 0; i < 10; i++) withLocations.set(`loc:l${i}`, { permits: 5, expiresAt: 5_000 });
    expect(routeViaLocation(withLocations, "iso-new", 1_000)).toBe(false); // location objects are not counted
    expect(routeViaLocation(direct(ROUTE_THRESHOLD + 1), "loc:l0", 1_000)).toBe(false); // nor told to move
  });

  it("calls the token contended when less than a tenth of its limit is left", () => {
    expect(isTight(89, 100)).toBe(false);
    expect(isTight(91, 100)).toBe(true);
    expect(isTight(2, 3)).toBe(false);
    expect(isTight(3, 3)).toBe(true);
  });

  it("keeps the sum of live leases within the limit for any sequence of requests", () => {
    // Demands are estimates (fractional, and unrelated to want): they change who may grow, never the sum.
    const request = fc.record({ holder: fc.constantFrom("a", "b", "c", "d"), want: fc.nat(12), dt: fc.nat(4_000), demand: fc.option(fc.double({ min: 0, max: 20, noNaN: true }), { nil: undefined }) });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.array(request, { maxLength: 60 }), (limit, requests) => {
        const l = new Map<string, Lease>();
        let now = 0;
        for (const r of requests) {
          now += r.dt;
          const held = (l.get(r.holder)?.expiresAt ?? 0) > now ? l.get(r.holder)!.permits : 0;
          const d = decideLease(l, { holder: r.holder, want: r.want, limit, ttlMs, demand: r.demand }, now);
          if (d.lease) l.set(r.holder, d.lease);
          else l.delete(r.holder);
          if (d.granted > r.want || livePermits(l, now) > limit || !Number.isInteger(d.granted)) return false;
          // Never takes back what a holder still asks for: its requests may be using it.
          if (d.granted < Math.min(held, r.want)) return false;
        }
        return true;
      }),
      { seed: 5, numRuns: 1_000 },
    );
  });
});

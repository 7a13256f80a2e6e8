// Simulates the per-token limiter past what one machine can show: many isolates in one or more
// regions sharing one token's Durable Object. The isolate side is the real PermitPools
// (src/limiter/permit-pool.ts) and the DO side the real ledger rule (decideLease from
// lease-ledger.ts), both injected by the generated entry (bench/sections/limiter-sim.ts) and run
// in virtual time (sim/clock.ts). Modelled: network round trip per region, a single-threaded
// object serving calls one at a time (service time → ~1,000 calls/s), Poisson arrivals per
// isolate, fixed request duration.
//
// Measured per scenario: DO calls/s and utilisation, the most requests ever in flight over all
// isolates (must stay ≤ the limit), refusals, and refusals while fewer than `limit` were in
// flight — capacity that sat in other isolates' leases: what the lease design costs in accuracy.

import { VirtualClock } from "./clock.ts";

export interface Lease {
  permits: number;
  expiresAt: number;
}
export interface LeaseRequest {
  tokenId?: string;
  holder: string;
  want: number;
  limit: number;
  ttlMs: number;
  used: number;
}
export interface Deps {
  PermitPools: new (holder?: string) => {
    setTimings(t: { checkInMs?: number }): void;
    acquire(ns: unknown, tokenId: string, limit: number, waitUntil: (p: Promise<unknown>) => void): Promise<{ ok: true; permit: { release(): void } } | { ok: false; reason: string }>;
  };
  decideLease(leases: ReadonlyMap<string, Lease>, req: LeaseRequest, now: number): { granted: number; lease: Lease | undefined; short: boolean };
  contentionWindowMs: number;
}

export interface Region {
  name: string;
  isolates: number;
  /** Round trip to the token's Durable Object, ms. */
  rttMs: number;
  /** Requests per second per isolate (Poisson). */
  ratePerIsolate: number;
}

export interface Scenario {
  name: string;
  limit: number;
  regions: Region[];
  /** How long a request holds its permit, ms. */
  holdMs: number;
  /** Time the object needs per call (1 ms ≈ 1,000 calls/s). */
  doServiceMs: number;
  seconds: number;
  warmupSeconds: number;
  /** Overrides of the pools' timings (e.g. a longer check-in interval). */
  checkInMs?: number;
}

export interface Outcome {
  name: string;
  offeredRps: number;
  offeredInFlight: number;
  admittedRps: number;
  refusedPct: number;
  /** Refused while fewer than `limit` were in flight over all isolates. */
  strandedRefusedPct: number;
  unavailablePct: number;
  maxInFlight: number;
  meanInFlight: number;
  doCallsPerSecond: number;
  doUtilisation: number;
  doQueueP99Ms: number;
  acquireP50Ms: Record<string, number>;
  acquireP99Ms: Record<string, number>;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function simulate(deps: Deps, s: Scenario): Promise<Outcome> {
  const clock = new VirtualClock();
  const realImmediate = setImmediate;
  const drain = () => new Promise<void>((ok) => realImmediate(ok));
  clock.install();
  try {
    // The object: one call at a time, in arrival order.
    const leases = new Map<string, Lease>();
    let contendedUntil = 0;
    let busyUntil = 0;
    let busyMs = 0;
    let calls = 0;
    const queueWaits: number[] = [];
    const warmEnd = s.warmupSeconds * 1000;
    const end = (s.warmupSeconds + s.seconds) * 1000;
    const objectFor = (rttMs: number) => ({
      lease(req: LeaseRequest) {
        return new Promise((resolve) => {
          const arrive = clock.now + rttMs / 2;
          const start = Math.max(arrive, busyUntil);
          busyUntil = start + s.doServiceMs;
          if (arrive >= warmEnd && arrive < end) {
            calls++;
            busyMs += s.doServiceMs;
            queueWaits.push(start - arrive);
          }
          clock.at(start + s.doServiceMs, () => {
            const now = clock.now;
            const d = deps.decideLease(leases, req, now);
            if (d.short) contendedUntil = now + deps.contentionWindowMs;
            if (d.lease) leases.set(req.holder, d.lease);
            else leases.delete(req.holder);
            const grant = { granted: d.granted, expiresAt: d.lease?.expiresAt ?? 0, revoked: false, contended: now < contendedUntil };
            clock.at(now + rttMs / 2, () => resolve(grant));
          });
        });
      },
      async revoke() {},
    });

    let inFlight = 0;
    let maxInFlight = 0;
    let inFlightArea = 0;
    let lastChange = warmEnd;
    const track = (delta: number) => {
      const now = clock.now;
      if (now >= warmEnd) {
        inFlightArea += inFlight * (Math.min(now, end) - Math.max(lastChange, warmEnd));
        lastChange = now;
      }
      inFlight += delta;
      if (now >= warmEnd) maxInFlight = Math.max(maxInFlight, inFlight);
    };
    let offered = 0;
    let admitted = 0;
    let refused = 0;
    let stranded = 0;
    let unavailable = 0;
    const latency: Record<string, number[]> = {};
    const waitUntil = (p: Promise<unknown>) => void p.catch(() => undefined);

    let isolateNo = 0;
    for (const region of s.regions) {
      latency[region.name] = [];
      for (let i = 0; i < region.isolates; i++) {
        const pools = new deps.PermitPools(`isolate-${isolateNo++}`);
        if (s.checkInMs !== undefined) pools.setTimings({ checkInMs: s.checkInMs });
        const obj = objectFor(region.rttMs);
        const ns = { getByName: () => obj };
        const arrival = () => {
          const startedAt = clock.now;
          const counted = startedAt >= warmEnd && startedAt < end;
          if (counted) offered++;
          pools.acquire(ns, "token", s.limit, waitUntil).then(
            (r) => {
              if (r.ok) {
                track(+1);
                if (counted) {
                  admitted++;
                  latency[region.name]!.push(clock.now - startedAt);
                }
                clock.at(clock.now + s.holdMs, () => {
                  track(-1);
                  r.permit.release();
                });
              } else if (counted) {
                refused++;
                if (inFlight < s.limit) stranded++;
              }
            },
            () => {
              if (counted) unavailable++;
            },
          );
          const gap = -Math.log(1 - Math.random()) * (1000 / region.ratePerIsolate);
          if (clock.now + gap < end) clock.at(clock.now + gap, arrival);
        };
        clock.at(Math.random() * (1000 / region.ratePerIsolate), arrival);
      }
    }
    await clock.run(end, drain);
    track(0);
    const offeredRps = s.regions.reduce((sum, r) => sum + r.isolates * r.ratePerIsolate, 0);
    const sortedWaits = queueWaits.sort((a, b) => a - b);
    const p = (n: number) => Object.fromEntries(Object.entries(latency).map(([k, v]) => [k, percentile([...v].sort((a, b) => a - b), n)]));
    return {
      name: s.name,
      offeredRps,
      offeredInFlight: (offeredRps * s.holdMs) / 1000,
      admittedRps: admitted / s.seconds,
      refusedPct: (100 * refused) / Math.max(1, offered),
      strandedRefusedPct: (100 * stranded) / Math.max(1, offered),
      unavailablePct: (100 * unavailable) / Math.max(1, offered),
      maxInFlight,
      meanInFlight: inFlightArea / (end - warmEnd),
      doCallsPerSecond: calls / s.seconds,
      doUtilisation: busyMs / (end - warmEnd),
      doQueueP99Ms: percentile(sortedWaits, 99),
      acquireP50Ms: p(50),
      acquireP99Ms: p(99),
    };
  } finally {
    clock.uninstall();
  }
}

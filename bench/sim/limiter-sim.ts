// Simulates the per-token limiter past what one machine can show: many isolates in many
// locations sharing one token's Durable Object. The isolate side is the real PermitPools
// (src/limiter/permit-pool.ts) and the object side the real ledger rule (decideLease, isTight
// from lease-ledger.ts), injected by the generated entry (bench/sections/limiter-sim.ts) and run
// in virtual time (sim/clock.ts). Modelled: a round trip per location to the token's object, the
// object serving calls one at a time (service time → ~1,000 calls/s), Poisson or bursty arrivals
// per isolate, hold times fixed or spread from 10 ms to 2 s, a demand ramp.
//
// Measured per scenario: the most requests ever in flight over all isolates (must stay ≤ the
// limit), refusals (after the bounded wait), mean in flight, the object's calls/s and busy share,
// acquire latency (waiting included).

import { VirtualClock } from "./clock.ts";

export interface Lease {
  permits: number;
  expiresAt: number;
  demand?: number;
}
export interface LeaseRequest {
  tokenId?: string;
  holder: string;
  want: number;
  limit: number;
  ttlMs: number;
  used: number;
  demand?: number;
}
export interface LeaseGrant {
  granted: number;
  expiresAt: number;
  revoked: boolean;
  contended: boolean;
  route?: "location";
  share?: number;
}
type PermitResult = { ok: true; permit: { release(): void } } | { ok: false; reason: string; retryAfterSeconds: number };
export interface Deps {
  PermitPools: new (
    holder?: string,
    timings?: { checkInMs?: number },
  ) => {
    acquire(ns: unknown, tokenId: string, limit: number, waitUntil: (p: Promise<unknown>) => void, options?: { maxWaitMs?: number; location?: unknown }): Promise<PermitResult>;
  };
  /** The second level; absent: isolates always call the token's object. */
  BlockLedger?: new (holder: string, parent: (tokenId: string) => { lease(req: LeaseRequest): Promise<LeaseGrant> }) => { lease(req: LeaseRequest): Promise<LeaseGrant> };
  routeViaLocation?(leases: ReadonlyMap<string, Lease>, holder: string, now: number): boolean;
  decideLease(leases: ReadonlyMap<string, Lease>, req: LeaseRequest, now: number): { granted: number; lease: Lease | undefined; short: boolean; share?: number };
  livePermits(leases: ReadonlyMap<string, Lease>, now: number): number;
  isTight(live: number, limit: number): boolean;
  contentionWindowMs: number;
}

export interface Location {
  name: string;
  isolates: number;
  /** Round trip to the token's Durable Object, ms. */
  rttMs: number;
  /** Requests per second per isolate at full demand. */
  ratePerIsolate: number;
}

export interface Scenario {
  name: string;
  limit: number;
  locations: Location[];
  /** How long a request holds its permit: fixed, or log-uniform between min and max (ms). */
  hold: { fixedMs: number } | { minMs: number; maxMs: number };
  /** Poisson arrivals, or bursts of `burst` requests at once (same mean rate). */
  arrivals?: { burst: number };
  /** Demand rises linearly from 0 to full over this long, from the start of the measured window. */
  rampMs?: number;
  /** Time the object needs per call (1 ms ≈ 1,000 calls/s). */
  doServiceMs: number;
  seconds: number;
  warmupSeconds: number;
  /** The acquire's bounded wait (ms); 0 refuses at once, as before waiting existed. */
  maxWaitMs?: number;
  checkInMs?: number;
  /** No second level: isolates always call the token's object (the design before per-location objects). */
  oneLevel?: boolean;
}

export interface Outcome {
  name: string;
  limit: number;
  offeredRps: number;
  offeredInFlight: number;
  admittedRps: number;
  admittedPct: number;
  refusedPct: number;
  unavailablePct: number;
  maxInFlight: number;
  meanInFlight: number;
  doCallsPerSecond: number;
  /** Busy share of the token's object and of the busiest object overall (a location's, with the second level). */
  tokenObjectUtilisation: number;
  busiestObjectUtilisation: number;
  /** Location objects that served calls. */
  locationObjects: number;
  doQueueP99Ms: number;
  acquireP50Ms: number;
  acquireP99Ms: number;
}

/** Round trip between an isolate and its location's object (same location). */
const NEAR_RTT_MS = 2;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A deterministic PRNG so a scenario gives the same figures on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function simulate(deps: Deps, s: Scenario): Promise<Outcome> {
  const clock = new VirtualClock();
  const realImmediate = setImmediate;
  const drain = () => new Promise<void>((ok) => realImmediate(ok));
  const random = mulberry32(0x5eed ^ s.name.length);
  clock.install();
  try {
    const warmEnd = s.warmupSeconds * 1000;
    const end = (s.warmupSeconds + s.seconds) * 1000;
    // Every object serves one call at a time, in arrival order, `doServiceMs` each.
    const servers: { busyUntil: number; busyMs: number; calls: number }[] = [];
    const queueWaits: number[] = [];
    const serve = <T>(server: (typeof servers)[number], rttMs: number, handle: () => Promise<T> | T): Promise<T> =>
      new Promise((resolve) => {
        const arrive = clock.now + rttMs / 2;
        const start = Math.max(arrive, server.busyUntil);
        server.busyUntil = start + s.doServiceMs;
        if (arrive >= warmEnd && arrive < end) {
          server.calls++;
          server.busyMs += s.doServiceMs;
          queueWaits.push(start - arrive);
        }
        clock.at(start + s.doServiceMs, () => {
          void Promise.resolve(handle()).then((r) => clock.at(clock.now + rttMs / 2, () => resolve(r)));
        });
      });
    const newServer = () => {
      const server = { busyUntil: 0, busyMs: 0, calls: 0 };
      servers.push(server);
      return server;
    };
    // The token's object.
    const leases = new Map<string, Lease>();
    let contendedUntil = 0;
    const tokenServer = newServer();
    const tokenObject = (rttMs: number) => ({
      lease: (req: LeaseRequest): Promise<LeaseGrant> =>
        serve(tokenServer, rttMs, () => {
          const now = clock.now;
          const d = deps.decideLease(leases, req, now);
          if (d.short) contendedUntil = now + deps.contentionWindowMs;
          if (d.lease) leases.set(req.holder, d.lease);
          else leases.delete(req.holder);
          const contended = now < contendedUntil || deps.isTight(deps.livePermits(leases, now), req.limit);
          const route = deps.routeViaLocation?.(leases, req.holder, now) ? { route: "location" as const } : {};
          return { granted: d.granted, expiresAt: d.granted > 0 ? d.lease!.expiresAt : 0, revoked: false, contended, ...route, ...(d.share !== undefined ? { share: d.share } : {}) };
        }),
    });
    // One object per location (the second level), 2 ms from its isolates, the location's RTT from the token's object.
    const locationObject = (l: Location) => {
      if (!deps.BlockLedger) return undefined;
      const server = newServer();
      const parent = tokenObject(l.rttMs);
      const ledger = new deps.BlockLedger(`loc:${l.name}`, () => parent);
      const obj = { lease: (req: LeaseRequest) => serve(server, NEAR_RTT_MS, () => ledger.lease(req)) };
      return { getByName: () => obj };
    };

    let inFlight = 0;
    let maxInFlight = 0;
    let inFlightArea = 0;
    let lastChange = warmEnd;
    const track = (delta: number) => {
      const now = clock.now;
      if (now >= warmEnd) {
        inFlightArea += inFlight * Math.max(0, Math.min(now, end) - Math.max(lastChange, warmEnd));
        lastChange = now;
      }
      inFlight += delta;
      maxInFlight = Math.max(maxInFlight, inFlight);
    };
    const holdMs = () => ("fixedMs" in s.hold ? s.hold.fixedMs : s.hold.minMs * Math.pow(s.hold.maxMs / s.hold.minMs, random()));
    const meanHoldMs = "fixedMs" in s.hold ? s.hold.fixedMs : (s.hold.maxMs - s.hold.minMs) / Math.log(s.hold.maxMs / s.hold.minMs);
    let offered = 0;
    let admitted = 0;
    let refused = 0;
    let unavailable = 0;
    const latency: number[] = [];
    const waitUntil = (p: Promise<unknown>) => void p.catch(() => undefined);
    const burst = s.arrivals?.burst ?? 1;
    const rampStart = s.rampMs === undefined ? 0 : warmEnd;
    const demand = (t: number) => (s.rampMs === undefined ? 1 : Math.max(0, Math.min(1, (t - rampStart) / s.rampMs)));

    let isolateNo = 0;
    for (const loc of s.locations) {
      const location = locationObject(loc);
      const obj = tokenObject(loc.rttMs);
      const ns = { getByName: () => obj };
      for (let i = 0; i < loc.isolates; i++) {
        const pools = new deps.PermitPools(`isolate-${isolateNo++}`, s.checkInMs === undefined ? {} : { checkInMs: s.checkInMs });
        const one = () => {
          const startedAt = clock.now;
          const counted = startedAt >= warmEnd && startedAt < end;
          if (counted) offered++;
          pools.acquire(ns, "token", s.limit, waitUntil, { maxWaitMs: s.maxWaitMs, location }).then((r) => {
            if (r.ok) {
              track(+1);
              if (counted) {
                admitted++;
                latency.push(clock.now - startedAt);
              }
              clock.at(clock.now + holdMs(), () => {
                track(-1);
                r.permit.release();
              });
            } else if (counted) {
              if (r.reason === "unavailable") unavailable++;
              else refused++;
            }
          });
        };
        // Thinning keeps Poisson arrivals while the demand ramps up.
        const meanGap = (1000 * burst) / loc.ratePerIsolate;
        const arrival = () => {
          if (random() < demand(clock.now)) for (let k = 0; k < burst; k++) one();
          const gap = -Math.log(1 - random()) * meanGap;
          if (clock.now + gap < end) clock.at(clock.now + gap, arrival);
        };
        clock.at(random() * meanGap, arrival);
      }
    }
    await clock.run(end + 6_000, drain);
    track(0);
    const offeredRps = s.locations.reduce((sum, l) => sum + l.isolates * l.ratePerIsolate, 0);
    const sorted = latency.sort((a, b) => a - b);
    return {
      name: s.name,
      limit: s.limit,
      offeredRps,
      offeredInFlight: (offeredRps * meanHoldMs) / 1000,
      admittedRps: admitted / s.seconds,
      admittedPct: (100 * admitted) / Math.max(1, offered),
      refusedPct: (100 * refused) / Math.max(1, offered),
      unavailablePct: (100 * unavailable) / Math.max(1, offered),
      maxInFlight,
      meanInFlight: inFlightArea / (end - warmEnd),
      doCallsPerSecond: tokenServer.calls / s.seconds,
      tokenObjectUtilisation: tokenServer.busyMs / (end - warmEnd),
      busiestObjectUtilisation: Math.max(...servers.map((x) => x.busyMs)) / (end - warmEnd),
      locationObjects: servers.filter((x) => x !== tokenServer && x.calls > 0).length,
      doQueueP99Ms: percentile(queueWaits.sort((a, b) => a - b), 99),
      acquireP50Ms: percentile(sorted, 50),
      acquireP99Ms: percentile(sorted, 99),
    };
  } finally {
    clock.uninstall();
  }
}

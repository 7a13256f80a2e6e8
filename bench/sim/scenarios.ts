// The limiter simulation's scenarios (issue 11) and the summary its targets are read from.

import type { Location, Outcome, Scenario } from "./limiter-sim.ts";

const NEAR = 2;
const CONTINENT = 30;
const FAR = 150;

const loc = (name: string, isolates: number, rttMs: number, ratePerIsolate: number): Location => ({ name, isolates, rttMs, ratePerIsolate });

/** `regions` regions of `isolates` isolates each at the given RTTs, together offering `share` of `limit` in flight. */
function regions(rtts: number[], isolatesEach: number, limit: number, share: number, holdMs: number): Location[] {
  const rate = (share * limit * 1000) / holdMs / (rtts.length * isolatesEach);
  return rtts.map((rtt, i) => loc(`r${i}`, isolatesEach, rtt, rate));
}

/** 50 locations (10 near the token's object, 20 on its continent, 20 far) with `isolates` in all. */
function fiftyLocations(isolates: number, limit: number, share: number, meanHoldMs: number): Location[] {
  const rate = (share * limit * 1000) / meanHoldMs / isolates;
  return Array.from({ length: 50 }, (_, i) => loc(`l${i}`, Math.round(isolates / 50), i < 10 ? NEAR : i < 30 ? CONTINENT : FAR, rate));
}

/** Log-uniform hold times from 10 ms to 2 s: mean (max − min) / ln(max / min) ≈ 374 ms. */
const SPREAD = { minMs: 10, maxMs: 2_000 };
const SPREAD_MEAN = (SPREAD.maxMs - SPREAD.minMs) / Math.log(SPREAD.maxMs / SPREAD.minMs);

export function scenarios(quick: boolean): Scenario[] {
  const base = { doServiceMs: 1, seconds: quick ? 5 : 10, warmupSeconds: 3 };
  const L = 100;
  const BIG = 600;
  return [
    { ...base, name: "20 isolates, 1 region, 70%", limit: L, hold: { fixedMs: 20 }, locations: regions([NEAR], 20, L, 0.7, 20) },
    { ...base, name: "20 isolates, 1 region, 70%, holds 10 ms–2 s, bursts of 5", limit: L, hold: SPREAD, arrivals: { burst: 5 }, locations: regions([NEAR], 20, L, 0.7, SPREAD_MEAN) },
    { ...base, name: "2 regions (2 / 150 ms), 70%", limit: L, hold: { fixedMs: 20 }, locations: regions([NEAR, FAR], 10, L, 0.7, 20) },
    { ...base, name: "5 regions (2–150 ms), 70%", limit: L, hold: { fixedMs: 20 }, locations: regions([NEAR, CONTINENT, CONTINENT, FAR, FAR], 4, L, 0.7, 20) },
    { ...base, name: "800 isolates / 50 locations, 20%", limit: BIG, hold: { fixedMs: 50 }, locations: fiftyLocations(800, BIG, 0.2, 50) },
    { ...base, name: "1,500 isolates / 50 locations, 20%", limit: BIG, hold: { fixedMs: 50 }, locations: fiftyLocations(1_500, BIG, 0.2, 50) },
    { ...base, name: "10,000 isolates / 50 locations, 20%", limit: BIG, hold: { fixedMs: 50 }, locations: fiftyLocations(10_000, BIG, 0.2, 50) },
    { ...base, name: "50 isolates, 150%", limit: L, hold: { fixedMs: 20 }, locations: regions([NEAR], 50, L, 1.5, 20) },
    { ...base, name: "5 regions, 150%", limit: L, hold: { fixedMs: 20 }, locations: regions([NEAR, CONTINENT, CONTINENT, FAR, FAR], 10, L, 1.5, 20) },
    { ...base, name: "burst 0 → 90% in 1 s, 2 regions", limit: L, hold: { fixedMs: 20 }, rampMs: 1_000, locations: regions([NEAR, FAR], 10, L, 0.9, 20) },
  ];
}

export interface Summary {
  refusedBelowLimitMax: number;
  admitted10000: number;
  inUseAt150: number;
  busiestObject: number;
  exact: boolean;
}

/** The figures issue 11 sets targets for, over all scenarios. */
export function summarise(outcomes: Outcome[]): Summary {
  const below = outcomes.filter((o) => o.offeredInFlight <= 0.9 * o.limit);
  const at150 = outcomes.filter((o) => o.offeredInFlight >= 1.4 * o.limit);
  const tenThousand = outcomes.find((o) => o.name.startsWith("10,000"));
  return {
    refusedBelowLimitMax: Math.max(...below.map((o) => o.refusedPct + o.unavailablePct)),
    admitted10000: tenThousand?.admittedPct ?? Number.NaN,
    inUseAt150: Math.min(...at150.map((o) => (100 * o.meanInFlight) / o.limit)),
    busiestObject: tenThousand ? 100 * tenThousand.busiestObjectUtilisation : Number.NaN,
    exact: outcomes.every((o) => o.maxInFlight <= o.limit),
  };
}

export function summaryLine(s: Summary): string {
  const pct = (v: number) => `${v.toFixed(2)}%`;
  return `limiter: refused_below_limit_max=${pct(s.refusedBelowLimitMax)} admitted_10000_isolates=${pct(s.admitted10000)} in_use_at_150pct=${pct(s.inUseAt150)} busiest_object=${pct(s.busiestObject)} exact=${s.exact ? "yes" : "no"}`;
}


import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeCells } from "../../src/usage/cells";
import { TOTAL_KEY, hourKey, minuteKey, seenKey } from "../../src/usage/rows";
import {
  HOUR_MS,
  HOUR_RETENTION_MS,
  MAX_SEEN_ISOLATES,
  MINUTE_MS,
  SEEN_RETENTION_MS,
  applyShipment,
  emptyState,
  loadState,
  noWrites,
  prune,
} from "../../src/usage/store";
import { FakeStorage, bucketSum, shipment, sumsOnly } from "./usage-fixtures";

const DAY = 24 * HOUR_MS;
const NOW = Date.UTC(2026, 10, 29, 7, 30, 15);
const MINUTE = Math.floor(NOW / MINUTE_MS) * MINUTE_MS;

describe("applyShipment", () => {
  it("counts a batch in the totals and in the minute of its first request, and says which rows to write", () => {
    const state = emptyState();
    const last = { at: NOW - 1_000, class: "write" as const, answer: "2xx" as const, address: "192.0.2.1" };
    const { applied, skipped, writes } = applyShipment(state, { isolate: "i1", tokenId: "t", batches: [{ seq: 1, from: NOW - 2_000, to: NOW - 1_000, cells: { "req.write.2xx": 3 }, last }] }, NOW);
    expect({ applied, skipped }).toEqual({ applied: 1, skipped: 0 });
    expect([...writes.put.keys()].sort()).toEqual([minuteKey(MINUTE), seenKey("i1"), TOTAL_KEY].sort());
    expect(writes.put.get(minuteKey(MINUTE))).toEqual({ "req.write.2xx": 3 });
    expect(writes.put.get(TOTAL_KEY)).toEqual({ c: { "req.write.2xx": 3 }, last });
    expect(writes.put.get(seenKey("i1"))).toEqual([1, NOW]);
    expect(writes.delete.size).toBe(0);
    expect(state.last).toEqual(last);
  });

  it("applies a replayed batch once, and only moves the isolate's seen time", () => {
    const state = emptyState();
    const s = shipment("i1", [{ seq: 1, from: NOW, cells: { "req.read.2xx": 1 } }, { seq: 2, from: NOW, cells: { "req.read.2xx": 10 } }]);
    applyShipment(state, s, NOW);
    const again = applyShipment(state, s, NOW + 1);
    expect(again).toMatchObject({ applied: 0, skipped: 2 });
    expect([...again.writes.put.keys()]).toEqual([seenKey("i1")]);
    expect(decodeCells({ "req.read.2xx": 11 })).toEqual(state.total);
  });

  it("skips the part of a shipment already applied and applies the rest", () => {
    const state = emptyState();
    applyShipment(state, shipment("i1", [{ seq: 4, from: NOW, cells: { "bytes.in": 1 } }]), NOW);
    const r = applyShipment(state, shipment("i1", [{ seq: 4, from: NOW, cells: { "bytes.in": 1 } }, { seq: 9, from: NOW, cells: { "bytes.in": 100 } }]), NOW);
    expect(r).toMatchObject({ applied: 1, skipped: 1 });
    expect(encodeTotal(state)).toEqual({ "bytes.in": 101 });
  });

  it("keeps isolates apart: the same seq from another isolate is another batch", () => {
    const state = emptyState();
    applyShipment(state, shipment("i1", [{ seq: 1, from: NOW, cells: { "bytes.in": 1 } }]), NOW);
    applyShipment(state, shipment("i2", [{ seq: 1, from: NOW, cells: { "bytes.in": 1 } }]), NOW);
    expect(encodeTotal(state)).toEqual({ "bytes.in": 2 });
  });

  it.each([
    ["a batch from the future counts in the current minute", NOW + 10 * MINUTE_MS, "minute", MINUTE],
    ["a batch 2 days old counts in its hour", NOW - 2 * DAY, "hour", Math.floor((NOW - 2 * DAY) / HOUR_MS) * HOUR_MS],
    ["a batch 31 days old counts in the totals only", NOW - 31 * DAY, "none", 0],
  ])("%s", (_name, from, where, at) => {
    const state = emptyState();
    const { writes } = applyShipment(state, shipment("i1", [{ seq: 1, from, cells: { "req.write.2xx": 1 } }]), NOW);
    expect(encodeTotal(state)).toEqual({ "req.write.2xx": 1 });
    expect(state.minutes.size).toBe(where === "minute" ? 1 : 0);
    expect(state.hours.size).toBe(where === "hour" ? 1 : 0);
    if (where === "minute") expect(writes.put.has(minuteKey(at))).toBe(true);
    if (where === "hour") expect(writes.put.has(hourKey(at))).toBe(true);
  });

  it("keeps the latest last use, whatever order batches arrive in", () => {
    const state = emptyState();
    const use = (at: number) => ({ at, class: "read" as const, answer: "2xx" as const });
    applyShipment(state, { isolate: "a", tokenId: "t", batches: [{ seq: 1, from: NOW, to: NOW, cells: {}, last: use(NOW) }] }, NOW);
    applyShipment(state, { isolate: "b", tokenId: "t", batches: [{ seq: 1, from: NOW - 5, to: NOW - 5, cells: {}, last: use(NOW - 5) }] }, NOW);
    expect(state.last?.at).toBe(NOW);
  });
});

describe("prune: rollup and retention", () => {
  it("rolls an hour's minutes into its hour bucket once the whole hour is 24 h old, and deletes their rows", () => {
    const state = emptyState();
    const hour = Math.floor(NOW / HOUR_MS) * HOUR_MS;
    applyShipment(state, shipment("i", [{ seq: 1, from: hour + 1_000, cells: { "req.write.2xx": 2 } }, { seq: 2, from: hour + 30 * MINUTE_MS, cells: { "req.write.2xx": 5 } }]), NOW);
    const minuteRows = (keys: Set<string>) => [...keys].filter((k) => k.startsWith("usage:m:")).sort();
    expect(minuteRows(prune(state, hour + HOUR_MS + DAY - 1).delete)).toEqual([]);
    expect(state.minutes.size).toBe(2);
    const w = prune(state, hour + HOUR_MS + DAY);
    expect(minuteRows(w.delete)).toEqual([minuteKey(hour), minuteKey(hour + 30 * MINUTE_MS)]);
    expect(w.put.get(hourKey(hour))).toEqual({ "req.write.2xx": 7 });
    expect(state.minutes.size).toBe(0);
  });

  it("drops hour buckets after 30 days but never the totals", () => {
    const state = emptyState();
    applyShipment(state, shipment("i", [{ seq: 1, from: NOW - 2 * DAY, cells: { "req.write.2xx": 2 } }]), NOW);
    const w = prune(state, NOW + HOUR_RETENTION_MS);
    expect([...w.delete].some((k) => k.startsWith("usage:h:"))).toBe(true);
    expect(state.hours.size).toBe(0);
    expect(encodeTotal(state)).toEqual({ "req.write.2xx": 2 });
  });

  it("forgets isolates not seen for a day, and the least recently seen beyond the cap", () => {
    const state = emptyState();
    applyShipment(state, shipment("old", [{ seq: 1, from: NOW, cells: {} }]), NOW);
    const w = prune(state, NOW + SEEN_RETENTION_MS);
    expect(w.delete.has(seenKey("old"))).toBe(true);
    for (let i = 0; i <= MAX_SEEN_ISOLATES; i++) state.seen.set(`i${i}`, { seq: 1, at: NOW + i });
    prune(state, NOW + MAX_SEEN_ISOLATES);
    expect(state.seen.size).toBe(MAX_SEEN_ISOLATES);
    expect(state.seen.has("i0")).toBe(false);
  });

  const arbBatches = fc.array(fc.record({ offset: fc.integer({ min: 0, max: 40 * DAY }), n: fc.integer({ min: 1, max: 1_000 }), lag: fc.integer({ min: 0, max: 2 * DAY }) }), { maxLength: 60 });

  it("preserves sums: buckets hold exactly the batches younger than hour retention, and a restart reads back the same state", () => {
    fc.assert(
      fc.property(arbBatches, fc.integer({ min: 0, max: 3 * DAY }), (batches, tail) => {
        const start = NOW - 40 * DAY;
        const state = emptyState();
        const storage = new FakeStorage();
        const sorted = batches.map((b) => ({ ...b, from: start + b.offset, applyAt: start + b.offset + b.lag })).sort((a, b) => a.applyAt - b.applyAt);
        sorted.forEach((b, i) => storage.write(applyShipment(state, shipment("i", [{ seq: i + 1, from: b.from, cells: { "req.read.2xx": b.n } }]), b.applyAt).writes));
        const end = (sorted.at(-1)?.applyAt ?? start) + tail;
        storage.write(prune(state, end));
        const drop = Math.floor((end - HOUR_RETENTION_MS) / HOUR_MS) * HOUR_MS;
        const kept = sorted.filter((b) => Math.floor(b.from / HOUR_MS) * HOUR_MS >= drop).reduce((s, b) => s + b.n, 0);
        expect(sumsOnly(bucketSum(state))).toEqual(sumsOnly(decodeCells(kept === 0 ? {} : { "req.read.2xx": kept })));
        expect(encodeTotal(state)).toEqual(sorted.length === 0 ? {} : { "req.read.2xx": sorted.reduce((s, b) => s + b.n, 0) });
        const reloaded = loadState(storage.rows);
        expect(reloaded.invalid).toEqual([]);
        expect(reloaded.state).toEqual(state);
      }),
      { numRuns: 200 },
    );
  });

  it("bounds what is kept: minutes of the last 25 hours at most, hours of the last 30 days, ≤ 1500 + 696 bucket rows", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ o: fc.integer({ min: 0, max: 35 * DAY }), lag: fc.integer({ min: 0, max: 3 * DAY }) }), { maxLength: 200 }), fc.integer({ min: 0, max: 35 * DAY }), (batches, at) => {
        const state = emptyState();
        const now = NOW + at;
        // Batches counted at NOW + o, arriving up to 3 days late, in arrival order, all before `now`.
        const arrivals = batches.filter((b) => b.o <= at).map((b) => ({ from: NOW + b.o, applyAt: Math.min(now, NOW + b.o + b.lag) })).sort((a, b) => a.applyAt - b.applyAt);
        arrivals.forEach((b, i) => applyShipment(state, shipment("i", [{ seq: i + 1, from: b.from, cells: { "bytes.in": 1 } }]), b.applyAt));
        prune(state, now);
        for (const m of state.minutes.keys()) expect(m).toBeGreaterThanOrEqual(now - 25 * HOUR_MS);
        for (const h of state.hours.keys()) {
          expect(h).toBeGreaterThanOrEqual(now - HOUR_RETENTION_MS - HOUR_MS);
          expect(h).toBeLessThan(now - DAY);
        }
        expect(state.minutes.size).toBeLessThanOrEqual(1_500);
        expect(state.hours.size).toBeLessThanOrEqual(696);
      }),
      { numRuns: 200 },
    );
  });
});

describe("loadState", () => {
  it("reports rows that do not parse, and ignores nothing silently", () => {
    const { state, invalid } = loadState([
      [TOTAL_KEY, { c: { "bytes.in": 4 } }],
      [minuteKey(MINUTE), { "bogus.cell": 1 }],
      ["usage:h:notanumber", {}],
      [seenKey("i"), [3, NOW]],
    ]);
    expect(invalid).toEqual([minuteKey(MINUTE), "usage:h:notanumber"]);
    expect(state.seen.get("i")).toEqual({ seq: 3, at: NOW });
    expect(encodeTotal(state)).toEqual({ "bytes.in": 4 });
  });

  it("starts empty from no rows", () => {
    expect(loadState([]).state).toEqual(emptyState());
    expect(noWrites()).toEqual({ put: new Map(), delete: new Set() });
  });
});

function encodeTotal(state: ReturnType<typeof emptyState>): Record<string, number> {
  return Object.fromEntries([...state.total].flatMap((v, i) => (v === 0 ? [] : [[CELL_NAME(i), v]])));
}
import { CELL_NAMES } from "../../src/usage/cells";
const CELL_NAME = (i: number) => CELL_NAMES[i]!;

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_CONCURRENCY, decodeCells } from "../../src/usage/cells";
import { type UsageQuery, USAGE_STEPS, parseUsageQuery } from "../../src/usage/query";
import { DeploymentUsage, TokenUsage, deploymentUsage, summarize, tokenUsage } from "../../src/usage/report";
import { recentMaxConcurrency, seriesTotal, sumSeries, usageSeries } from "../../src/usage/series";
import { HOUR_MS, MINUTE_MS, applyShipment, emptyState } from "../../src/usage/store";
import { shipment, sumsOnly } from "./usage-fixtures";

const DAY = 24 * HOUR_MS;
const NOW = Date.UTC(2026, 10, 29, 7, 30, 15);
const HOUR = Math.floor(NOW / HOUR_MS) * HOUR_MS;
const query = (since: number, until: number, step: UsageQuery["step"]): UsageQuery => ({ since, until, step, stepMs: USAGE_STEPS[step] });

function stateWith(batches: { from: number; cells: Record<string, number> }[], now = NOW) {
  const state = emptyState();
  batches.forEach((b, i) => applyShipment(state, shipment("i", [{ seq: i + 1, ...b }]), now));
  return state;
}

describe("usageSeries", () => {
  it("puts each minute bucket in its point, aligned to the step", () => {
    const state = stateWith([
      { from: HOUR + 1 * MINUTE_MS, cells: { "req.write.2xx": 1 } },
      { from: HOUR + 4 * MINUTE_MS + 59_999, cells: { "req.write.2xx": 2 } },
      { from: HOUR + 5 * MINUTE_MS, cells: { "req.write.2xx": 4 } },
    ]);
    const s = usageSeries(state, query(HOUR + 2 * MINUTE_MS, HOUR + 15 * MINUTE_MS, "5m"));
    expect(s.start).toBe(HOUR);
    expect(s.points.map((p) => p[0])).toEqual([3, 4, 0]);
  });

  it("counts hour buckets only in whole-hour steps", () => {
    const old = NOW - 2 * DAY;
    const state = stateWith([{ from: old, cells: { "req.read.2xx": 5 } }]);
    expect(state.hours.size).toBe(1);
    expect(summarize(seriesTotal(usageSeries(state, query(old - HOUR_MS, NOW, "1h")))).requests).toBe(5);
    expect(summarize(seriesTotal(usageSeries(state, query(old - HOUR_MS, NOW, "6h")))).requests).toBe(5);
    expect(summarize(seriesTotal(usageSeries(state, query(NOW - 20 * HOUR_MS, NOW, "15m")))).requests).toBe(0);
  });

  it("gives the same sums at every step over the same whole hours of the last day, after rollups too", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.integer({ min: 0, max: 3 * DAY }), n: fc.integer({ min: 1, max: 100 }) }), { maxLength: 40 }), (batches) => {
        const now = NOW + 3 * DAY;
        const state = emptyState();
        [...batches].sort((a, b) => a.at - b.at).forEach((b, i) => applyShipment(state, shipment("i", [{ seq: i + 1, from: NOW + b.at, cells: { "req.read.2xx": b.n } }]), NOW + b.at));
        applyShipment(state, shipment("j", [{ seq: 1, from: now, cells: {} }]), now); // prunes at `now`
        const since = Math.floor((now - DAY) / HOUR_MS) * HOUR_MS + HOUR_MS;
        const sums = (["1m", "5m", "15m", "1h"] as const).map((step) => sumsOnly(seriesTotal(usageSeries(state, query(since, now, step)))));
        for (const s of sums) expect(s).toEqual(sums[3]);
        // And over the whole stored range, hour points hold everything applied.
        const all = seriesTotal(usageSeries(state, query(NOW - HOUR_MS, now, "1h")));
        expect(summarize(all).requests).toBe(batches.reduce((s, b) => s + b.n, 0));
      }),
      { numRuns: 150 },
    );
  });

  it("adds series of several tokens point by point", () => {
    const q = query(HOUR, HOUR + 10 * MINUTE_MS, "5m");
    const a = usageSeries(stateWith([{ from: HOUR, cells: { "req.read.2xx": 1, "conc.max": 3 } }]), q);
    const b = usageSeries(stateWith([{ from: HOUR + 6 * MINUTE_MS, cells: { "req.read.2xx": 2, "conc.max": 5 } }, { from: HOUR, cells: { "conc.max": 7 } }]), q);
    const sum = sumSeries(q, [a, b]);
    expect(sum.points.map((p) => summarize(p).requests)).toEqual([1, 2]);
    expect(sum.points.map((p) => p[MAX_CONCURRENCY])).toEqual([7, 5]);
    expect(() => sumSeries(query(HOUR, HOUR + 20 * MINUTE_MS, "5m"), [a])).toThrow(RangeError);
  });

  it("reports the highest concurrency of the last five minutes", () => {
    const state = stateWith([
      { from: NOW - 10 * MINUTE_MS, cells: { "conc.max": 9 } },
      { from: NOW - 2 * MINUTE_MS, cells: { "conc.max": 4 } },
    ]);
    expect(recentMaxConcurrency(state, NOW)).toBe(4);
    expect(recentMaxConcurrency(state, NOW, 11 * MINUTE_MS)).toBe(9);
  });
});

describe("usage reports", () => {
  const cells = {
    "req.write.2xx": 90,
    "req.write.5xx": 2,
    "req.write.too_many_requests": 5,
    "req.other.unknown_path": 3,
    "bytes.in": 1_000,
    "bytes.out": 20,
    "lat.write.le16": 90,
    "lat.write.le1024": 2,
    "lat.write.sum": 2_000,
    "wait.ms": 40,
    "wait.count": 4,
    "conc.max": 6,
  };

  it("summarises counters: requests, refusals, answers, classes, bytes, latency quantiles", () => {
    expect(summarize(decodeCells(cells))).toEqual({
      requests: 100,
      refused: 8,
      answers: { "2xx": 90, "5xx": 2, too_many_requests: 5, unknown_path: 3 },
      classes: { write: 97, other: 3 },
      request_bytes: 1_000,
      response_bytes: 20,
      latency_ms: { p50: Math.sqrt(8 * 16), p90: Math.sqrt(8 * 16), p99: Math.sqrt(512 * 1024) },
      max_concurrency: 6,
      permit_waits: 4,
      permit_wait_ms: 40,
    });
  });

  it("builds a token's answer that matches its schema, with the last use", () => {
    const last = { at: NOW - 1_000, class: "write" as const, answer: "2xx" as const, address: "192.0.2.1", country: "DE", colo: "FRA", userAgent: "vmagent/1.0" };
    const state = emptyState();
    applyShipment(state, { isolate: "i", tokenId: "t", batches: [{ seq: 1, from: NOW - 1_000, to: NOW - 1_000, cells, last }] }, NOW);
    const r = parseUsageQuery({}, NOW);
    if (!r.ok) throw new Error(r.rule);
    const body = tokenUsage(r.query, usageSeries(state, r.query), state.last);
    expect(TokenUsage.parse(body)).toEqual(body);
    expect(body.total.requests).toBe(100);
    expect(body.points).toHaveLength(289);
    expect(body.points.at(-1)).toMatchObject({ at: "2026-11-29T07:30:00.000Z", requests: 100 });
    expect(body.last_used).toEqual({ at: "2026-11-29T07:30:14.000Z", class: "write", answer: "2xx", address: "192.0.2.1", country: "DE", colo: "FRA", user_agent: "vmagent/1.0" });
    expect(tokenUsage(r.query, usageSeries(emptyState(), r.query), undefined).last_used).toBeNull();
  });

  it("rolls a deployment's tokens up, keeping each token's total", () => {
    const q = query(HOUR, HOUR + 10 * MINUTE_MS, "5m");
    const a = stateWith([{ from: HOUR, cells: { "req.read.2xx": 1 } }]);
    const b = stateWith([{ from: HOUR + 6 * MINUTE_MS, cells: { "req.write.insufficient_access": 2 } }]);
    const body = deploymentUsage(q, [
      { tokenId: "a", description: "grafana", series: usageSeries(a, q), last: a.last },
      { tokenId: "b", description: "vmagent", series: usageSeries(b, q), last: b.last },
    ]);
    expect(DeploymentUsage.parse(body)).toEqual(body);
    expect(body.total).toMatchObject({ requests: 3, refused: 2 });
    expect(body.points.map((p) => p.requests)).toEqual([1, 2]);
    expect(body.tokens.map((t) => [t.token_id, t.description, t.total.requests])).toEqual([
      ["a", "grafana", 1],
      ["b", "vmagent", 2],
    ]);
  });
});

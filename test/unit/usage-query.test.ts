import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_RANGE_MS, MAX_POINTS, UsageStep, parseRfc3339, parseUsageQuery, pointCount } from "../../src/usage/query";
import { HOUR_MS, HOUR_RETENTION_MS, MINUTE_MS } from "../../src/usage/store";

const NOW = Date.UTC(2026, 10, 29, 7, 30, 15, 500);
const iso = (ms: number) => new Date(ms).toISOString();

describe("parseRfc3339", () => {
  it.each([
    ["2026-11-29T07:00:00Z", Date.UTC(2026, 10, 29, 7)],
    ["2026-11-29t07:00:00z", Date.UTC(2026, 10, 29, 7)],
    ["2026-11-29T07:00:00.123Z", Date.UTC(2026, 10, 29, 7, 0, 0, 123)],
    ["2026-11-29T07:00:00.123456789Z", Date.UTC(2026, 10, 29, 7, 0, 0, 123)],
    ["2026-11-29T08:30:00+01:30", Date.UTC(2026, 10, 29, 7)],
    ["2026-11-29T05:00:00-02:00", Date.UTC(2026, 10, 29, 7)],
    ["2024-02-29T00:00:00Z", Date.UTC(2024, 1, 29)],
  ])("reads %s", (text, ms) => {
    expect(parseRfc3339(text)).toBe(ms);
  });

  it.each([
    "",
    "yesterday",
    "1732863600",
    "2026-11-29",
    "2026-11-29T07:00:00",
    "2026-11-29 07:00:00Z",
    "2026-11-29T07:00Z",
    "2026-02-30T00:00:00Z",
    "2025-02-29T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-11-29T24:00:00Z",
    "2026-11-29T07:60:00Z",
    "2026-11-29T07:00:60Z",
    "2026-11-29T07:00:00+24:00",
    "2026-11-29T07:00:00+01:60",
    "0099-01-01T00:00:00Z",
    "2026-11-29T07:00:00Z ",
    "2026-11-29T07:00:00Z\n",
    "２０２６-11-29T07:00:00Z",
  ])("refuses %j", (text) => {
    expect(parseRfc3339(text)).toBeUndefined();
  });
});

describe("parseUsageQuery", () => {
  it("defaults to the last 24 hours in 5-minute points", () => {
    expect(parseUsageQuery({}, NOW)).toEqual({ ok: true, query: { since: NOW - DEFAULT_RANGE_MS, until: NOW, step: "5m", stepMs: 5 * MINUTE_MS } });
  });

  it("takes a valid range and step", () => {
    const r = parseUsageQuery({ since: iso(NOW - 2 * HOUR_MS), until: iso(NOW - HOUR_MS), step: "1m" }, NOW);
    expect(r).toEqual({ ok: true, query: { since: NOW - 2 * HOUR_MS, until: NOW - HOUR_MS, step: "1m", stepMs: MINUTE_MS } });
  });

  it("starts the default range no earlier than retention", () => {
    const r = parseUsageQuery({ until: iso(NOW - HOUR_RETENTION_MS + HOUR_MS) }, NOW);
    expect(r).toMatchObject({ ok: true, query: { since: NOW - HOUR_RETENTION_MS, until: NOW - HOUR_RETENTION_MS + HOUR_MS } });
  });

  it("picks hour points or longer by default for a range older than a day", () => {
    const r = parseUsageQuery({ since: iso(NOW - 3 * 24 * HOUR_MS) }, NOW);
    expect(r.ok && r.query.step).toBe("1h");
    const month = parseUsageQuery({ since: iso(NOW - HOUR_RETENTION_MS + 1_000) }, NOW);
    expect(month.ok && month.query.step).toBe("6h");
  });

  it("allows a day of minutes at any alignment", () => {
    const r = parseUsageQuery({ since: iso(NOW - 24 * HOUR_MS), step: "1m" }, NOW);
    expect(r.ok).toBe(true);
    expect(pointCount(NOW - 24 * HOUR_MS, NOW, MINUTE_MS)).toBeLessThanOrEqual(MAX_POINTS);
  });

  it.each<[string, Record<string, string>, string, RegExp]>([
    ["since not RFC 3339", { since: "yesterday" }, "since", /RFC 3339/],
    ["since without offset", { since: "2026-11-29T07:00:00" }, "since", /RFC 3339/],
    ["until not RFC 3339", { until: "now" }, "until", /RFC 3339/],
    ["until far ahead", { until: iso(NOW + 6 * MINUTE_MS) }, "until", /future/],
    ["since after until", { since: iso(NOW - HOUR_MS), until: iso(NOW - 2 * HOUR_MS) }, "since", /before until/],
    ["since equal to until", { since: iso(NOW - HOUR_MS), until: iso(NOW - HOUR_MS) }, "since", /before until/],
    ["since beyond retention", { since: iso(NOW - HOUR_RETENTION_MS - 1) }, "since", /30 days/],
    ["until beyond retention, since left to its default", { until: iso(NOW - HOUR_RETENTION_MS - HOUR_MS) }, "until", /30 days/],
    ["unknown step", { step: "2m" }, "step", /one of "1m", "5m", "15m", "1h", "6h", "1d"/],
    ["step as a number", { step: "60" }, "step", /one of/],
    ["minutes older than a day", { since: iso(NOW - 25 * HOUR_MS), step: "15m" }, "step", /1h or longer/],
  ])("refuses %s, naming the field", (_name, raw, field, rule) => {
    const r = parseUsageQuery(raw, NOW);
    expect(r).toMatchObject({ ok: false, field });
    expect(!r.ok && r.rule).toMatch(rule);
  });

  it("never accepts a query of more than MAX_POINTS points", () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: -HOUR_RETENTION_MS - HOUR_MS, max: 10 * MINUTE_MS }), { nil: undefined }),
        fc.option(fc.integer({ min: -HOUR_RETENTION_MS - HOUR_MS, max: 10 * MINUTE_MS }), { nil: undefined }),
        fc.option(fc.constantFrom(...UsageStep.options), { nil: undefined }),
        (sinceOffset, untilOffset, step) => {
          const at = (offset: number | undefined) => (offset === undefined ? undefined : iso(NOW + offset));
          const r = parseUsageQuery({ since: at(sinceOffset), until: at(untilOffset), step }, NOW);
          if (r.ok) {
            expect(r.query.since).toBeLessThan(r.query.until);
            expect(r.query.since).toBeGreaterThanOrEqual(NOW - HOUR_RETENTION_MS);
            expect(pointCount(r.query.since, r.query.until, r.query.stepMs)).toBeLessThanOrEqual(MAX_POINTS);
          } else {
            expect(["since", "until", "step"]).toContain(r.field);
          }
        },
      ),
    );
  });
});

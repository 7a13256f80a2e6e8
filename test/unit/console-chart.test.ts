import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { niceCeiling, nonZero, stepAreaPath } from "../../src/console/client/chart-path";

describe("niceCeiling", () => {
  it("rounds up to 1, 2 or 5 × 10ⁿ, at least 1", () => {
    expect([0, -3, 0.5, 1, 1.5, 2, 3, 7, 10, 11, 99, 101, 4000].map(niceCeiling)).toEqual([1, 1, 1, 1, 2, 2, 5, 10, 10, 20, 100, 200, 5000]);
  });
  it("is never below its input nor more than 2.5 times it (above 1)", () => {
    fc.assert(
      fc.property(fc.double({ min: 1, max: 1e12, noNaN: true }), (n) => {
        const top = niceCeiling(n);
        expect(top).toBeGreaterThanOrEqual(n);
        expect(top).toBeLessThanOrEqual(n * 2.5 + 1e-9);
      }),
    );
  });
});

/** The y coordinates of a path's V commands and the x of its H commands. */
function coords(d: string): { v: number[]; h: number[] } {
  const v = [...d.matchAll(/V(-?[\d.]+)/g)].map((m) => Number(m[1]));
  const h = [...d.matchAll(/H(-?[\d.]+)/g)].map((m) => Number(m[1]));
  return { v, h };
}

describe("stepAreaPath", () => {
  it("draws one flat step per bucket, scaled to the top, closed on the baseline", () => {
    expect(stepAreaPath([0, 5, 10], 10, 300, 100)).toBe("M0 100 V100 H100 V50 H200 V0 H300 V100 Z");
  });
  it("is empty without values or without a top", () => {
    expect(stepAreaPath([], 10, 300, 100)).toBe("");
    expect(stepAreaPath([1], 0, 300, 100)).toBe("");
  });
  it("keeps every point inside the box, with steps of equal width, whatever the counts", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.nat(), fc.constant(-1), fc.constant(Number.NaN)), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 1e6 }), (values, top) => {
        const { v, h } = coords(stepAreaPath(values, top, 600, 160));
        expect(h).toHaveLength(values.length);
        expect(h.at(-1)).toBe(600);
        for (const y of v) expect(y >= 0 && y <= 160).toBe(true);
        // A step above the baseline exactly where a count is above 0.
        const heights = v.slice(0, values.length).map((y) => y < 160);
        expect(heights).toEqual(values.map((x) => x > 0 && (160 * Math.min(x, top)) / top >= 0.005));
      }),
    );
  });
  it("counts the buckets to show", () => {
    expect(nonZero([0, 3, 0, 1])).toBe(2);
  });
});

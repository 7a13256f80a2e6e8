import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LATENCY_BOUNDS_MS, LATENCY_BUCKETS, bucketEstimate, bucketRange, estimateQuantile, latencyBucket } from "../../src/usage/latency";

describe("latency buckets", () => {
  it("double from 4 ms to 32.768 s, plus overflow", () => {
    expect(LATENCY_BOUNDS_MS[0]).toBe(4);
    expect(LATENCY_BOUNDS_MS.at(-1)).toBe(32_768);
    expect(LATENCY_BUCKETS).toBe(15);
  });

  it.each([
    [0, 0],
    [-5, 0],
    [Number.NaN, 0],
    [4, 0],
    [4.0001, 1],
    [5, 1],
    [8, 1],
    [8.5, 2],
    [16, 2],
    [17, 3],
    [1000, 8],
    [1024, 8],
    [1025, 9],
    [32_768, 13],
    [32_769, 14],
    [Infinity, 14],
  ])("%d ms is in bucket %i", (ms, bucket) => {
    expect(latencyBucket(ms)).toBe(bucket);
  });

  it("puts every value in the bucket whose range holds it", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 100_000, noNaN: true }), (ms) => {
        const [lo, hi] = bucketRange(latencyBucket(ms));
        expect(ms === 0 || ms > lo).toBe(true);
        expect(ms <= hi).toBe(true);
      }),
    );
  });

  it("estimates null without samples", () => {
    expect(estimateQuantile(new Float64Array(LATENCY_BUCKETS), 0.5)).toBeNull();
  });

  it("estimates quantiles within the documented bound (factor √2 above 4 ms, ±2 ms below, a lower bound in overflow)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.constantFrom(0.5, 0.9, 0.99),
        (samples, q) => {
          const counts = new Float64Array(LATENCY_BUCKETS);
          for (const s of samples) counts[latencyBucket(s)]! += 1;
          const sorted = [...samples].sort((a, b) => a - b);
          const truth = sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
          const estimate = estimateQuantile(counts, q)!;
          if (truth <= 4) expect(Math.abs(estimate - truth)).toBeLessThanOrEqual(2);
          else if (truth > 32_768) expect(estimate).toBe(32_768);
          else {
            expect(estimate).toBeGreaterThanOrEqual(truth / Math.SQRT2 - 1e-9);
            expect(estimate).toBeLessThan(truth * Math.SQRT2);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("reports each bucket's geometric midpoint", () => {
    expect(bucketEstimate(0)).toBe(2);
    expect(bucketEstimate(1)).toBeCloseTo(Math.sqrt(32));
    expect(bucketEstimate(14)).toBe(32_768);
  });
});

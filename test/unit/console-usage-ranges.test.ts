import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { USAGE_RANGES, usageQueryString, usageRange } from "../../src/console/usage-ranges";
import { parseUsageQuery, pointCount } from "../../src/usage/query";

const HOUR = 3_600_000;
const params = (qs: string) => Object.fromEntries(new URLSearchParams(qs)) as { since?: string; step?: string };

describe("the console's usage ranges", () => {
  it("ask queries the server accepts, with their step, while the browser's clock is off by up to an hour", () => {
    fc.assert(
      fc.property(fc.constantFrom(...USAGE_RANGES), fc.integer({ min: 1.7e12, max: 2.1e12 }), fc.integer({ min: -HOUR + 1, max: HOUR - 1 }), (range, browserNow, skew) => {
        const serverNow = browserNow + skew;
        const parsed = parseUsageQuery(params(usageQueryString(range, browserNow)), serverNow);
        expect(parsed).toMatchObject({ ok: true, query: { step: range.step } });
        if (!parsed.ok) return;
        const { since, until, stepMs } = parsed.query;
        // About the range asked for (an hour short at most), and few enough points for a phone.
        expect(until - since).toBeGreaterThanOrEqual(range.rangeMs - 2 * HOUR);
        expect(until - since).toBeLessThanOrEqual(range.rangeMs + HOUR);
        expect(pointCount(since, until, stepMs)).toBeLessThanOrEqual(170);
      }),
    );
  });

  it("falls back to the last 24 hours for an unknown choice", () => {
    expect(usageRange("7d").id).toBe("7d");
    expect(usageRange("1y").id).toBe("24h");
    expect(usageRange(undefined).id).toBe("24h");
  });
});

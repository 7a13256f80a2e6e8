import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeCells } from "../../src/usage/cells";
import { ROW_PREFIX, TOTAL_KEY, hourKey, minuteKey, readRow, seenKey, totalValue } from "../../src/usage/rows";

describe("usage rows", () => {
  it("name keys under one prefix that the limiter's own `usage` key does not match", () => {
    for (const key of [TOTAL_KEY, minuteKey(0), hourKey(0), seenKey("iso")]) expect(key.startsWith(ROW_PREFIX)).toBe(true);
    expect("usage".startsWith(ROW_PREFIX)).toBe(false);
    expect(readRow("usage", { requests: 1, leaseCalls: 1, lastUsedAt: null })).toBeUndefined();
    expect(readRow("lease:holder", { permits: 1, expiresAt: 0 })).toBeUndefined();
  });

  it("sort bucket keys by time, so a storage list of a key range reads a time range", () => {
    fc.assert(
      fc.property(fc.nat({ max: 10 ** 15 - 1 }), fc.nat({ max: 10 ** 15 - 1 }), (a, b) => {
        expect(minuteKey(a) < minuteKey(b)).toBe(a < b);
        expect(hourKey(a) < hourKey(b)).toBe(a < b);
      }),
    );
    expect(minuteKey(1_795_851_800_000)).toBe("usage:m:001795851800000");
  });

  it("read back what they write", () => {
    const cells = decodeCells({ "req.read.2xx": 4, "conc.max": 2 });
    const last = { at: 5, class: "read" as const, answer: "2xx" as const, userAgent: "curl/8" };
    expect(readRow(TOTAL_KEY, structuredClone(totalValue(cells, last)))).toEqual({ kind: "total", value: { cells, last } });
    expect(readRow(TOTAL_KEY, structuredClone(totalValue(cells, undefined)))).toEqual({ kind: "total", value: { cells, last: undefined } });
    expect(readRow(minuteKey(60_000), { "req.read.2xx": 4 })).toMatchObject({ kind: "minute", at: 60_000 });
    expect(readRow(hourKey(3_600_000), {})).toMatchObject({ kind: "hour", at: 3_600_000 });
    expect(readRow(seenKey("a:b"), [7, 9])).toEqual({ kind: "seen", isolate: "a:b", value: { seq: 7, at: 9 } });
  });

  it.each<[string, unknown]>([
    [TOTAL_KEY, { c: { "req.read.2xx": -1 } }],
    [TOTAL_KEY, { cells: {} }],
    [minuteKey(0), { "req.read.2xx": "4" }],
    ["usage:m:", {}],
    ["usage:m:12x", {}],
    ["usage:m:12", {}],
    ["usage:h:-00000000000001", {}],
    [seenKey("i"), [1]],
    [seenKey(""), [1, 2]],
    ["usage:other", {}],
  ])("refuse %s = %j", (key, value) => {
    expect(readRow(key, value)).toBeUndefined();
  });
});

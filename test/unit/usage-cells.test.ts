import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_SEEN_ISOLATES } from "../../src/usage/store";
import { CELL_COUNT, CELL_NAMES, MAX_CONCURRENCY, SparseCells, addCells, decodeCells, encodeCells, isEmpty, newCells, requestCount } from "../../src/usage/cells";

/** Bucket rows kept at most (docs/usage.md): 25 hours of minutes, 696 hours. Keys are 24 characters. */
const MINUTE_ROWS = 1_500;
const HOUR_ROWS = 696;

const arbCells = fc.array(fc.nat({ max: 1_000_000 }), { minLength: CELL_COUNT, maxLength: CELL_COUNT }).map((a) => Float64Array.from(a));

describe("usage cells", () => {
  it("have one stable, unique name each", () => {
    expect(CELL_NAMES).toHaveLength(CELL_COUNT);
    expect(new Set(CELL_NAMES).size).toBe(CELL_COUNT);
    expect(CELL_NAMES).toContain("req.write.2xx");
    expect(CELL_NAMES).toContain("req.other.unknown_token");
    expect(CELL_NAMES).toContain("lat.read.le4");
    expect(CELL_NAMES).toContain("lat.read.inf");
    expect(CELL_NAMES[MAX_CONCURRENCY]).toBe("conc.max");
  });

  it("round-trip through the sparse form, leaving zeros out", () => {
    fc.assert(
      fc.property(arbCells, (cells) => {
        const sparse = encodeCells(cells);
        expect(Object.values(sparse)).not.toContain(0);
        expect(SparseCells.safeParse(sparse).success).toBe(true);
        expect(decodeCells(sparse)).toEqual(cells);
      }),
    );
  });

  it("add by sum, except the highest concurrency, which takes the maximum", () => {
    fc.assert(
      fc.property(arbCells, arbCells, (a, b) => {
        const sum = addCells(Float64Array.from(a), b);
        for (let i = 0; i < CELL_COUNT; i++) expect(sum[i]).toBe(i === MAX_CONCURRENCY ? Math.max(a[i]!, b[i]!) : a[i]! + b[i]!);
      }),
    );
  });

  it("refuses unknown names, negative and fractional values", () => {
    expect(SparseCells.safeParse({ "req.write.9xx": 1 }).success).toBe(false);
    expect(SparseCells.safeParse({ "bytes.in": -1 }).success).toBe(false);
    expect(SparseCells.safeParse({ "bytes.in": 1.5 }).success).toBe(false);
    expect(() => decodeCells({ nope: 1 })).toThrow(RangeError);
  });

  it("stays within the storage size docs/usage.md states (worst case and a vmagent's rows)", () => {
    const json = (sparse: object) => JSON.stringify(sparse).length;
    const full = newCells().fill(Number.MAX_SAFE_INTEGER);
    expect(json(encodeCells(full))).toBe(6_823);
    const vmagent = { "req.write.2xx": 5_400, "bytes.in": 54_000_000, "lat.write.le8": 5_000, "lat.write.le16": 400, "lat.write.sum": 40_000, "conc.max": 3 };
    expect(json(encodeCells(decodeCells(vmagent)))).toBeLessThanOrEqual(130);
    const last = { at: 1_800_000_000_000, class: "write", answer: "2xx", address: "2001:db8:1234:5678:9abc:def0:1234:5678", country: "DE", colo: "FRA", userAgent: "x".repeat(256) };
    const seenRow = `usage:seen:${"f".repeat(36)}`.length + json([Number.MAX_SAFE_INTEGER, 1_800_000_000_000]);
    const worst = (MINUTE_ROWS + HOUR_ROWS) * (json(encodeCells(full)) + 24) + json({ c: encodeCells(full), last }) + MAX_SEEN_ISOLATES * seenRow;
    expect(worst).toBeLessThan(16_000_000);
    expect((MINUTE_ROWS + HOUR_ROWS) * (130 + 24)).toBeLessThan(350_000);
    expect(isEmpty(newCells())).toBe(true);
    expect(requestCount(full)).toBeGreaterThan(0);
  });
});

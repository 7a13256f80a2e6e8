import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CELL_COUNT, CELL_NAMES, MAX_CONCURRENCY, SparseCells, addCells, decodeCells, encodeCells, isEmpty, newCells, requestCount } from "../../src/usage/cells";

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

  it("keeps a full row under 8 KiB as JSON (the worst case docs/usage.md states)", () => {
    const full = newCells().fill(Number.MAX_SAFE_INTEGER);
    expect(JSON.stringify(encodeCells(full)).length).toBeLessThan(8 * 1024);
    expect(isEmpty(newCells())).toBe(true);
    expect(requestCount(full)).toBeGreaterThan(0);
  });
});

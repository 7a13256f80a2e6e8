import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { API_KEY_PREFIX, crc32, generateSecret, isWellFormedSecret, maskSecret } from "../../src/token/format";

describe("secret format", () => {
  it("generates prefixed 55-character secrets that pass the shape check", () => {
    const s = generateSecret();
    expect(s).toMatch(/^vmat_[0-9A-Za-z]{50}$/);
    expect(isWellFormedSecret(s)).toBe(true);
  });

  it("never repeats a secret across many draws", () => {
    const seen = new Set(Array.from({ length: 2000 }, () => generateSecret()));
    expect(seen.size).toBe(2000);
  });

  it("refuses a secret with any single character changed (checksum)", () => {
    const s = generateSecret();
    fc.assert(
      fc.property(fc.integer({ min: 5, max: s.length - 1 }), fc.constantFrom(..."0aZ9x"), (i, ch) => {
        fc.pre(s[i] !== ch);
        return !isWellFormedSecret(s.slice(0, i) + ch + s.slice(i + 1));
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it("refuses arbitrary strings, wrong prefixes and wrong lengths", () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (v) => !isWellFormedSecret(v)), { seed: 7, numRuns: 2000 });
    const s = generateSecret();
    expect(isWellFormedSecret(s.slice(0, -1))).toBe(false);
    expect(isWellFormedSecret(s + "0")).toBe(false);
    expect(isWellFormedSecret(s, API_KEY_PREFIX)).toBe(false);
    expect(isWellFormedSecret(generateSecret(API_KEY_PREFIX), API_KEY_PREFIX)).toBe(true);
  });

  it("computes the standard CRC-32 (IEEE) check values", () => {
    expect(crc32("")).toBe(0);
    expect(crc32("123456789")).toBe(0xcbf43926);
    expect(crc32("The quick brown fox jumps over the lazy dog")).toBe(0x414fa339);
  });

  it("masks to the last four characters, which differ between secrets", () => {
    expect(maskSecret("vmat_abcdefgh")).toBe("efgh");
    const secrets = Array.from({ length: 20 }, () => generateSecret());
    expect(new Set(secrets.map(maskSecret)).size).toBeGreaterThan(1);
    for (const s of secrets) expect(maskSecret(s)).toBe(s.slice(-4));
  });
});

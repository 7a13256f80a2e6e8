import { timingSafeEqual } from "hono/utils/buffer";
import { describe, expect, it, vi } from "vitest";
import { encryptionKeyBytes, timingSafeEqualText } from "../../src/token/crypto";

// Hono's compare, watched: what it is given decides what its timing can reveal.
vi.mock("hono/utils/buffer", async (importOriginal) => {
  const original = await importOriginal<typeof import("hono/utils/buffer")>();
  return { ...original, timingSafeEqual: vi.fn(original.timingSafeEqual) };
});

describe("timingSafeEqualText (Hono's timingSafeEqual over SHA-256 digests)", () => {
  it("hands Hono two 64-character digests whatever the inputs' lengths, so timing cannot tell a length", async () => {
    const compare = vi.mocked(timingSafeEqual);
    compare.mockClear();
    for (const [a, b] of [
      ["", "x"],
      ["short", "a much longer bootstrap key than the one presented"],
      ["x".repeat(10_000), "y"],
    ] as const) {
      expect(await timingSafeEqualText(a, b)).toBe(false);
    }
    expect(await timingSafeEqualText("same key", "same key")).toBe(true);
    expect(compare).toHaveBeenCalledTimes(4);
    for (const [x, y] of compare.mock.calls) {
      expect(x).toMatch(/^[0-9a-f]{64}$/);
      expect(y).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});

describe("encryptionKeyBytes (Hono's decodeBase64)", () => {
  it("accepts base64 of exactly 32 bytes only", () => {
    expect(encryptionKeyBytes(btoa(String.fromCharCode(...new Uint8Array(32).fill(7))))).toHaveLength(32);
    for (const bad of [undefined, "", "not base64!", btoa("sixteen bytes..."), btoa("x".repeat(33))]) {
      expect(encryptionKeyBytes(bad)).toBeNull();
    }
  });
});

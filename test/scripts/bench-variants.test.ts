// The breakdown benchmark measures patched builds of src/ (bench/lib/variants.ts). A patch whose
// text the source no longer holds would measure nothing, so every one is checked against the
// current tree here, where a refactoring of the data path notices it.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyPatch, VARIANTS } from "../../bench/lib/variants.ts";

const root = join(import.meta.dirname, "../..");

describe("breakdown variants", () => {
  for (const variant of VARIANTS.filter((v) => v.patches.length > 0)) {
    it(`${variant.name}: every patch finds its text exactly once in src/ and changes it`, () => {
      for (const patch of variant.patches) {
        const text = readFileSync(join(root, patch.file), "utf8");
        const patched = applyPatch(text, patch);
        expect(patched).not.toBe(text);
      }
    });
  }

  it("a patch whose text is gone, or ambiguous, is an error rather than a skipped variant", () => {
    const patch = { file: "x.ts", find: "a()", replace: "b()" };
    expect(() => applyPatch("c();", patch)).toThrow(/no longer matches/);
    expect(() => applyPatch("a(); a();", patch)).toThrow(/more than once/);
    expect(applyPatch("a();", patch)).toBe("b();");
  });
});

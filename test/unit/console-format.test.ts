import { describe, expect, it } from "vitest";
import { bytes, duration } from "../../src/console/client/format";

describe("console figures", () => {
  it("writes durations in ms below a second, in seconds above, a dash for none", () => {
    expect([null, 0, 2, 339.6, 999, 999.7, 1000, 1450, 9_949, 10_000, 32_768].map(duration)).toEqual(["–", "0 ms", "2 ms", "340 ms", "999 ms", "1 s", "1 s", "1.5 s", "9.9 s", "10 s", "33 s"]);
  });
  it("writes bytes in binary units", () => {
    expect([0, 512, 1023, 1024, 3_500, 150 * 1024, 12 * 1024 * 1024 + 1, 5 * 1024 ** 4, 2 * 1024 ** 5].map(bytes)).toEqual([
      "0 B",
      "512 B",
      "1,023 B",
      "1 KiB",
      "3.4 KiB",
      "150 KiB",
      "12 MiB",
      "5 TiB",
      "2,048 TiB",
    ]);
  });
});

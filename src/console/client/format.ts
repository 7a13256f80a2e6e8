/** Pure formatting of usage figures for the console (no DOM; unit-tested in test/unit/console-format.test.ts). */

/** Milliseconds as people read them: "2 ms", "340 ms", "1.2 s"; a dash when nothing was measured. */
export function duration(ms: number | null): string {
  if (ms === null) return "–";
  if (ms < 999.5) return `${Math.round(ms)} ms`; // not "1000 ms"
  return `${(ms / 1000).toLocaleString("en-US", { maximumFractionDigits: ms < 10_000 ? 1 : 0 })} s`;
}

/** Bytes in binary units: "512 B", "3.4 KiB", "12 MiB". */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toLocaleString("en-US", { maximumFractionDigits: unit === 0 || value >= 100 ? 0 : 1 })} ${units[unit]}`;
}

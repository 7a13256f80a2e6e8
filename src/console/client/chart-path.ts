/**
 * Pure geometry of the usage chart (no DOM, unit-tested in test/unit/console-chart.test.ts):
 * counts per time bucket become SVG path data. Each bucket is drawn as a flat step as wide as
 * the bucket, so a count is never smeared into its neighbours' time.
 */

/** The smallest 1, 2 or 5 × 10ⁿ at or above `n` (at least 1): the top of the y axis. */
export function niceCeiling(n: number): number {
  if (!(n > 1)) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * power >= n) return m * power;
  return 10 * power;
}

const num = (x: number): string => String(Math.round(x * 100) / 100);

/**
 * A closed step area for `values` in a `width` × `height` box (origin top left, y down), scaled
 * so that `top` reaches the top edge. Empty for no values; a bucket of 0 lies on the baseline.
 * Values above `top` are clipped to it, negative or non-finite ones count as 0.
 */
export function stepAreaPath(values: readonly number[], top: number, width: number, height: number): string {
  const n = values.length;
  if (n === 0 || !(top > 0)) return "";
  const x = (i: number) => num((i * width) / n);
  const y = (v: number) => num(height - (Math.min(Number.isFinite(v) && v > 0 ? v : 0, top) / top) * height);
  const parts = [`M0 ${num(height)}`];
  for (let i = 0; i < n; i++) parts.push(`V${y(values[i]!)}`, `H${x(i + 1)}`);
  parts.push(`V${num(height)}`, "Z");
  return parts.join(" ");
}

/** Buckets with a count above 0: what the chart has to show. */
export const nonZero = (values: readonly number[]): number => values.filter((v) => v > 0).length;

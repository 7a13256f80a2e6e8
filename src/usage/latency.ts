/**
 * The upstream-latency histogram: fixed buckets doubling from 4 ms to 32.768 s, plus overflow.
 * Counting a sample is one integer bucket index (no allocation); quantiles are estimated from
 * the counts alone, so histograms of isolates, minutes and tokens add up by plain sums.
 *
 * Error bound (docs/usage.md): the estimate lies in the same bucket as the true quantile (the
 * ⌈q·n⌉-th smallest sample). It is the bucket's geometric midpoint, so for a true value v above
 * 4 ms the estimate e satisfies v/√2 ≤ e < v·√2 (within 41 %); in the first bucket (0–4 ms) it is
 * 2 ms, off by at most 2 ms; in the overflow bucket (over 32.768 s) it is 32.768 s, a lower bound.
 */

/** Upper bounds (ms, inclusive) of the finite buckets: 4, 8, …, 32768. */
export const LATENCY_BOUNDS_MS: readonly number[] = Object.freeze(Array.from({ length: 14 }, (_, i) => 2 ** (i + 2)));
/** Finite buckets plus the overflow bucket. */
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;
const LAST_BOUND = LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;

/** Index of the bucket holding `ms`: the first whose upper bound is ≥ ms (overflow past the last). */
export function latencyBucket(ms: number): number {
  if (!(ms > 4)) return 0; // also NaN and negatives: a clock that went backwards is not a slow upstream
  if (ms > LAST_BOUND) return LATENCY_BUCKETS - 1;
  // ceil(log2(v)) for an integer v ≥ 5 is 32 − clz32(v − 1); fractions round up into the same bucket.
  return 30 - Math.clz32(Math.ceil(ms) - 1);
}

/** The lower (exclusive) and upper (inclusive) bound of bucket `i`, in ms; Infinity for overflow. */
export function bucketRange(i: number): [number, number] {
  if (i <= 0) return [0, LATENCY_BOUNDS_MS[0]!];
  if (i >= LATENCY_BUCKETS - 1) return [LAST_BOUND, Infinity];
  return [LATENCY_BOUNDS_MS[i - 1]!, LATENCY_BOUNDS_MS[i]!];
}

/** The estimate reported for a quantile that falls in bucket `i`. */
export function bucketEstimate(i: number): number {
  if (i <= 0) return LATENCY_BOUNDS_MS[0]! / 2;
  if (i >= LATENCY_BUCKETS - 1) return LAST_BOUND;
  const [lo, hi] = bucketRange(i);
  return Math.sqrt(lo * hi);
}

/**
 * Estimated q-quantile (0 < q ≤ 1) of the samples counted in `counts[offset … offset+LATENCY_BUCKETS)`,
 * or null when there are none.
 */
export function estimateQuantile(counts: ArrayLike<number>, q: number, offset = 0): number | null {
  let total = 0;
  for (let i = 0; i < LATENCY_BUCKETS; i++) total += counts[offset + i] ?? 0;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < LATENCY_BUCKETS; i++) {
    seen += counts[offset + i] ?? 0;
    if (seen >= rank) return bucketEstimate(i);
  }
  return bucketEstimate(LATENCY_BUCKETS - 1);
}

import { type Cells, MAX_CONCURRENCY, addCells, newCells } from "./cells";
import type { UsageQuery } from "./query";
import { HOUR_MS, type UsageState } from "./store";

/**
 * A token's usage over a query's range, as counters per step, and the per-deployment roll-up
 * of several tokens' series (same query). Steps are aligned to the epoch (UTC), so every minute
 * and hour bucket falls in exactly one point.
 */

export interface Series {
  /** Start of the first point (epoch ms, `since` rounded down to the step). */
  start: number;
  stepMs: number;
  /** One per step, from `start` up to `until`. */
  points: Cells[];
}

export function usageSeries(state: UsageState, q: UsageQuery): Series {
  const start = Math.floor(q.since / q.stepMs) * q.stepMs;
  const count = Math.max(0, Math.ceil((q.until - start) / q.stepMs));
  const points = Array.from({ length: count }, newCells);
  const add = (at: number, cells: Cells) => {
    const i = Math.floor((at - start) / q.stepMs);
    if (i >= 0 && i < count) addCells(points[i]!, cells);
  };
  for (const [minute, cells] of state.minutes) add(minute, cells);
  // Hour buckets fit whole points only when the step is whole hours; a finer query reads minutes alone.
  if (q.stepMs % HOUR_MS === 0) for (const [hour, cells] of state.hours) add(hour, cells);
  return { start, stepMs: q.stepMs, points };
}

/** All points added up. */
export function seriesTotal(series: Series): Cells {
  const total = newCells();
  for (const p of series.points) addCells(total, p);
  return total;
}

/** The point-by-point sum of several series over the same query (a deployment's tokens). */
export function sumSeries(q: UsageQuery, list: readonly Series[]): Series {
  const start = Math.floor(q.since / q.stepMs) * q.stepMs;
  const count = Math.max(0, Math.ceil((q.until - start) / q.stepMs));
  const points = Array.from({ length: count }, newCells);
  for (const s of list) {
    if (s.start !== start || s.stepMs !== q.stepMs || s.points.length !== count) throw new RangeError("series of another query");
    s.points.forEach((p, i) => addCells(points[i]!, p));
  }
  return { start, stepMs: q.stepMs, points };
}

/** Highest concurrency in the minute buckets of the last `windowMs` (for the metrics gauge). */
export function recentMaxConcurrency(state: UsageState, now: number, windowMs = 5 * 60_000): number {
  let max = 0;
  for (const [minute, cells] of state.minutes) if (minute > now - windowMs) max = Math.max(max, cells[MAX_CONCURRENCY]!);
  return max;
}

import type { LastUse, UsageShipment } from "./batch";
import { type Cells, addCells, decodeCells, newCells } from "./cells";
import { TOTAL_KEY, bucketValue, hourKey, minuteKey, readRow, seenKey, seenValue, totalValue } from "./rows";

/**
 * The Durable Object side of per-token usage, as a pure model: the state a token's object keeps
 * in memory, how a shipment changes it (exactly once per batch), the minute → hour rollup and
 * retention, and the storage rows each change writes (rows.ts). Design: docs/usage.md.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
/** Minute buckets are kept at least this long (an hour's minutes roll up once all are older). */
export const MINUTE_RETENTION_MS = 24 * HOUR_MS;
/** Hour buckets are kept at least this long; older batches count in the totals only. */
export const HOUR_RETENTION_MS = 30 * 24 * HOUR_MS;
/**
 * An isolate's highest applied seq is remembered this long after its last shipment… (longer
 * than the accumulator's RESEND_WINDOW_MS, so no batch it still resends finds it forgotten)
 */
export const SEEN_RETENTION_MS = 24 * HOUR_MS;
/** …for at most this many isolates (the least recently seen are forgotten first). */
export const MAX_SEEN_ISOLATES = 4_096;

export interface UsageState {
  /** Since the object's first batch: never pruned, so counters exposed from it only grow. */
  total: Cells;
  last: LastUse | undefined;
  /** Minute start → counters, for minutes whose hour is not yet rolled up. */
  minutes: Map<number, Cells>;
  /** Hour start → counters, for hours rolled up (or reached by a late batch). */
  hours: Map<number, Cells>;
  /** Isolate → highest seq applied and when it was last seen. */
  seen: Map<string, { seq: number; at: number }>;
}

/** Rows to write after a change: puts and deletes, each key at most once. */
export interface RowWrites {
  put: Map<string, unknown>;
  delete: Set<string>;
}

export const emptyState = (): UsageState => ({ total: newCells(), last: undefined, minutes: new Map(), hours: new Map(), seen: new Map() });
export const noWrites = (): RowWrites => ({ put: new Map(), delete: new Set() });

const floorTo = (t: number, unit: number): number => Math.floor(t / unit) * unit;

/** Minutes of hours that end at or before this time are rolled up into hour buckets. */
const rollupBefore = (now: number): number => floorTo(now - MINUTE_RETENTION_MS, HOUR_MS);
/** Hour buckets that start before this are dropped. */
const dropHoursBefore = (now: number): number => floorTo(now - HOUR_RETENTION_MS, HOUR_MS);

/**
 * Applies the batches of a shipment that were not applied before (by isolate and seq), and
 * says how many were applied and skipped. Each batch counts in the totals, and in the minute
 * bucket (or, when older than minute retention, the hour bucket) of its first request; a time
 * in the future counts as now. Prunes first, so retention holds after every call.
 */
export function applyShipment(state: UsageState, shipment: UsageShipment, now: number, writes: RowWrites = noWrites()): { applied: number; skipped: number; writes: RowWrites } {
  prune(state, now, writes);
  const seen = state.seen.get(shipment.isolate);
  let highest = seen?.seq ?? 0;
  let applied = 0;
  for (const batch of shipment.batches) {
    if (batch.seq <= highest) continue;
    highest = batch.seq;
    applied++;
    const cells = decodeCells(batch.cells);
    addCells(state.total, cells);
    const at = Math.min(batch.from, now);
    const minute = floorTo(at, MINUTE_MS);
    if (minute >= rollupBefore(now)) {
      put(writes, minuteKey(minute), bucketValue(addCells(bucketOf(state.minutes, minute), cells)));
    } else if (minute >= dropHoursBefore(now)) {
      const hour = floorTo(minute, HOUR_MS);
      put(writes, hourKey(hour), bucketValue(addCells(bucketOf(state.hours, hour), cells)));
    }
    if (batch.last !== undefined && (state.last === undefined || batch.last.at >= state.last.at)) state.last = batch.last;
  }
  state.seen.set(shipment.isolate, { seq: highest, at: now });
  put(writes, seenKey(shipment.isolate), seenValue(highest, now));
  if (applied > 0) put(writes, TOTAL_KEY, totalValue(state.total, state.last));
  evictSeen(state, now, writes);
  return { applied, skipped: shipment.batches.length - applied, writes };
}

/**
 * Rolls up every minute bucket whose hour ended at least MINUTE_RETENTION_MS ago into its hour
 * bucket, drops hour buckets older than HOUR_RETENTION_MS, and forgets isolates not seen for
 * SEEN_RETENTION_MS. Sums are preserved: what leaves a minute bucket enters its hour bucket.
 */
export function prune(state: UsageState, now: number, writes: RowWrites = noWrites()): RowWrites {
  const rollup = rollupBefore(now);
  const drop = dropHoursBefore(now);
  for (const [minute, cells] of state.minutes) {
    if (minute >= rollup) continue;
    state.minutes.delete(minute);
    del(writes, minuteKey(minute));
    const hour = floorTo(minute, HOUR_MS);
    if (hour >= drop) put(writes, hourKey(hour), bucketValue(addCells(bucketOf(state.hours, hour), cells)));
  }
  for (const hour of state.hours.keys()) {
    if (hour >= drop) continue;
    state.hours.delete(hour);
    del(writes, hourKey(hour));
  }
  evictSeen(state, now, writes);
  return writes;
}

/** Rebuilds the state from the stored rows (`storage.list({ prefix: ROW_PREFIX })`); rows that do not parse are reported, not applied. */
export function loadState(rows: Iterable<[string, unknown]>): { state: UsageState; invalid: string[] } {
  const state = emptyState();
  const invalid: string[] = [];
  for (const [key, value] of rows) {
    const row = readRow(key, value);
    if (row === undefined) invalid.push(key);
    else if (row.kind === "total") ({ cells: state.total, last: state.last } = row.value);
    else if (row.kind === "minute") state.minutes.set(row.at, row.value);
    else if (row.kind === "hour") state.hours.set(row.at, row.value);
    else state.seen.set(row.isolate, row.value);
  }
  return { state, invalid };
}

function bucketOf(map: Map<number, Cells>, at: number): Cells {
  let cells = map.get(at);
  if (cells === undefined) map.set(at, (cells = newCells()));
  return cells;
}

function put(writes: RowWrites, key: string, value: unknown): void {
  writes.delete.delete(key);
  writes.put.set(key, value);
}

function del(writes: RowWrites, key: string): void {
  writes.put.delete(key);
  writes.delete.add(key);
}

function evictSeen(state: UsageState, now: number, writes: RowWrites): void {
  for (const [isolate, s] of state.seen) {
    if (now - s.at >= SEEN_RETENTION_MS) {
      state.seen.delete(isolate);
      del(writes, seenKey(isolate));
    }
  }
  if (state.seen.size <= MAX_SEEN_ISOLATES) return;
  const oldest = [...state.seen].sort((a, b) => a[1].at - b[1].at).slice(0, state.seen.size - MAX_SEEN_ISOLATES);
  for (const [isolate] of oldest) {
    state.seen.delete(isolate);
    del(writes, seenKey(isolate));
  }
}

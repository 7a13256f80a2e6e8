import { z } from "zod";
import { LastUse } from "./batch";
import { type Cells, SparseCells, decodeCells, encodeCells } from "./cells";

/**
 * The storage rows of per-token usage in the token's Durable Object (SQLite-backed, key-value
 * API), defined in one place. Every key starts with `usage:`, so `storage.list({ prefix:
 * "usage:" })` reads them all and nothing else (the limiter's own `usage` key is not matched).
 * Layout and worst-case size: docs/usage.md.
 */

export const ROW_PREFIX = "usage:";
export const TOTAL_KEY = "usage:total";
const MINUTE_PREFIX = "usage:m:";
const HOUR_PREFIX = "usage:h:";
const SEEN_PREFIX = "usage:seen:";

/** Epoch ms zero-padded to 15 digits, so keys sort by time and `list({ start, end })` reads a range. */
const stamp = (ms: number): string => String(ms).padStart(15, "0");
export const minuteKey = (minuteStart: number): string => MINUTE_PREFIX + stamp(minuteStart);
export const hourKey = (hourStart: number): string => HOUR_PREFIX + stamp(hourStart);
export const seenKey = (isolate: string): string => SEEN_PREFIX + isolate;

/** `usage:total`: counters since the object's first batch (what /admin/metrics exposes) and the last use. */
export const TotalRow = z.object({ c: SparseCells, last: LastUse.optional() });
export type TotalRow = z.infer<typeof TotalRow>;
/** `usage:m:<minute>` and `usage:h:<hour>`: the sparse counters of one bucket. */
export const BucketRow = SparseCells;
/** `usage:seen:<isolate>`: `[highest seq applied, epoch ms last seen]`. */
export const SeenRow = z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]);
export type SeenRow = z.infer<typeof SeenRow>;

export type Row =
  | { kind: "total"; value: { cells: Cells; last: LastUse | undefined } }
  | { kind: "minute"; at: number; value: Cells }
  | { kind: "hour"; at: number; value: Cells }
  | { kind: "seen"; isolate: string; value: { seq: number; at: number } };

/** Reads one stored row; undefined for a key that is not a usage row or a value that does not parse. */
export function readRow(key: string, value: unknown): Row | undefined {
  if (key === TOTAL_KEY) {
    const p = TotalRow.safeParse(value);
    return p.success ? { kind: "total", value: { cells: decodeCells(p.data.c), last: p.data.last } } : undefined;
  }
  for (const [prefix, kind] of [
    [MINUTE_PREFIX, "minute"],
    [HOUR_PREFIX, "hour"],
  ] as const) {
    if (!key.startsWith(prefix)) continue;
    const stamped = key.slice(prefix.length);
    const p = BucketRow.safeParse(value);
    return /^\d{15}$/.test(stamped) && p.success ? { kind, at: Number(stamped), value: decodeCells(p.data) } : undefined;
  }
  if (key.startsWith(SEEN_PREFIX) && key.length > SEEN_PREFIX.length) {
    const p = SeenRow.safeParse(value);
    return p.success ? { kind: "seen", isolate: key.slice(SEEN_PREFIX.length), value: { seq: p.data[0], at: p.data[1] } } : undefined;
  }
  return undefined;
}

export function totalValue(cells: Cells, last: LastUse | undefined): TotalRow {
  return last === undefined ? { c: encodeCells(cells) } : { c: encodeCells(cells), last };
}
export const bucketValue = (cells: Cells): SparseCells => encodeCells(cells);
export const seenValue = (seq: number, at: number): SeenRow => [seq, at];

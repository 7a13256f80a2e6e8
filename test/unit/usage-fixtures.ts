import type { UsageShipment } from "../../src/usage/batch";
import { type Cells, MAX_CONCURRENCY, addCells, newCells } from "../../src/usage/cells";
import type { RowWrites, UsageState } from "../../src/usage/store";

/** Shared by the usage tests: a fake Durable Object storage that applies RowWrites. */
export class FakeStorage {
  readonly rows = new Map<string, unknown>();
  /** Rows written, as `put` and `delete` counts, to check what a change costs. */
  puts = 0;
  deletes = 0;

  write(w: RowWrites): void {
    for (const key of w.delete) {
      this.rows.delete(key);
      this.deletes++;
    }
    for (const [key, value] of w.put) {
      // The real storage keeps a structured clone, never the live object.
      this.rows.set(key, structuredClone(value));
      this.puts++;
    }
  }
}

export function shipment(isolate: string, batches: { seq: number; from: number; cells: Record<string, number> }[], tokenId = "t"): UsageShipment {
  return { isolate, tokenId, batches: batches.map((b) => ({ ...b, to: b.from })) };
}

/** All minute and hour buckets added up. */
export function bucketSum(state: UsageState): Cells {
  const sum = newCells();
  for (const c of state.minutes.values()) addCells(sum, c);
  for (const c of state.hours.values()) addCells(sum, c);
  return sum;
}

/** Cells compared without the max cell, which buckets and totals combine by max, not sum. */
export function sumsOnly(cells: Cells): number[] {
  return [...cells].map((v, i) => (i === MAX_CONCURRENCY ? 0 : v));
}

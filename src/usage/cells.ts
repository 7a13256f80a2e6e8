import { z } from "zod";
import { LATENCY_BOUNDS_MS, LATENCY_BUCKETS } from "./latency";
import { Answer, UsageClass } from "./vocabulary";

/**
 * One set of usage counters as a flat Float64Array ("cells"): what an isolate counts for a token
 * between two shipments, what a minute or hour bucket holds, and a token's totals. Adding two
 * sets is a loop over the array — sums everywhere, except the highest concurrency, which takes
 * the maximum. Stored and shipped sparse, each cell under a stable name (docs/usage.md), so the
 * layout can grow without rewriting stored rows. Every cell holds a non-negative integer.
 */

const CLASSES = UsageClass.options;
const ANSWERS = Answer.options;

export const CLASS_INDEX: Readonly<Record<UsageClass, number>> = Object.freeze(Object.fromEntries(CLASSES.map((c, i) => [c, i])) as Record<UsageClass, number>);
export const ANSWER_INDEX: Readonly<Record<Answer, number>> = Object.freeze(Object.fromEntries(ANSWERS.map((a, i) => [a, i])) as Record<Answer, number>);

const REQUESTS = 0;
export const REQUEST_BYTES = CLASSES.length * ANSWERS.length;
export const RESPONSE_BYTES = REQUEST_BYTES + 1;
const LATENCY = RESPONSE_BYTES + 1;
const LATENCY_SUM = LATENCY + CLASSES.length * LATENCY_BUCKETS;
export const PERMIT_WAIT_MS = LATENCY_SUM + CLASSES.length;
export const PERMIT_WAITS = PERMIT_WAIT_MS + 1;
/** Highest number of this token's requests in flight at once in one isolate; combined by max. */
export const MAX_CONCURRENCY = PERMIT_WAITS + 1;
export const CELL_COUNT = MAX_CONCURRENCY + 1;

export type Cells = Float64Array;

export const requestCell = (cls: number, answer: number): number => REQUESTS + cls * ANSWERS.length + answer;
/** First of the class's LATENCY_BUCKETS bucket cells. */
export const latencyCell = (cls: number): number => LATENCY + cls * LATENCY_BUCKETS;
export const latencySumCell = (cls: number): number => LATENCY_SUM + cls;

export function newCells(): Cells {
  return new Float64Array(CELL_COUNT);
}

/** Adds `from` into `into` (max for MAX_CONCURRENCY). */
export function addCells(into: Cells, from: Cells): Cells {
  for (let i = 0; i < CELL_COUNT; i++) into[i] = i === MAX_CONCURRENCY ? Math.max(into[i]!, from[i]!) : into[i]! + from[i]!;
  return into;
}

export function isEmpty(cells: Cells): boolean {
  for (let i = 0; i < CELL_COUNT; i++) if (cells[i] !== 0) return false;
  return true;
}

/** Requests counted, over all classes and answers. */
export function requestCount(cells: Cells): number {
  let n = 0;
  for (let i = REQUESTS; i < REQUEST_BYTES; i++) n += cells[i]!;
  return n;
}

/** Stable name of every cell, by index. */
export const CELL_NAMES: readonly string[] = Object.freeze(
  (() => {
    const names: string[] = [];
    for (const c of CLASSES) for (const a of ANSWERS) names.push(`req.${c}.${a}`);
    names.push("bytes.in", "bytes.out");
    for (const c of CLASSES) {
      for (const bound of LATENCY_BOUNDS_MS) names.push(`lat.${c}.le${bound}`);
      names.push(`lat.${c}.inf`);
    }
    for (const c of CLASSES) names.push(`lat.${c}.sum`);
    names.push("wait.ms", "wait.count", "conc.max");
    return names;
  })(),
);
const CELL_BY_NAME: ReadonlyMap<string, number> = new Map(CELL_NAMES.map((n, i) => [n, i]));

/** The sparse form: `{ "req.write.2xx": 12, "bytes.in": 3456 }`, zero cells left out. */
export const SparseCells = z.record(
  z.string().refine((name) => CELL_BY_NAME.has(name), { message: "unknown usage cell" }),
  z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
);
export type SparseCells = z.infer<typeof SparseCells>;

export function encodeCells(cells: Cells): SparseCells {
  const out: SparseCells = {};
  for (let i = 0; i < CELL_COUNT; i++) if (cells[i] !== 0) out[CELL_NAMES[i]!] = cells[i]!;
  return out;
}

/** Reads a sparse set that SparseCells has validated (or that encodeCells wrote). */
export function decodeCells(sparse: SparseCells): Cells {
  const cells = newCells();
  for (const [name, value] of Object.entries(sparse)) {
    const i = CELL_BY_NAME.get(name);
    if (i === undefined) throw new RangeError(`unknown usage cell ${JSON.stringify(name)}`);
    cells[i] = value;
  }
  return cells;
}

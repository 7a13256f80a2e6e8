import { MAX_BATCHES_PER_SHIPMENT, MAX_PLACE_LENGTH, MAX_USER_AGENT_LENGTH, type LastUse, type UsageBatch, type UsageShipment, cutString } from "./batch";
import {
  ANSWER_INDEX,
  CLASS_INDEX,
  type Cells,
  MAX_CONCURRENCY,
  PERMIT_WAIT_MS,
  PERMIT_WAITS,
  REQUEST_BYTES,
  RESPONSE_BYTES,
  encodeCells,
  latencyCell,
  latencySumCell,
  newCells,
  requestCell,
} from "./cells";
import { latencyBucket } from "./latency";
import type { Answer, UsageClass } from "./vocabulary";

/**
 * The isolate side of per-token usage: counts every answered request in memory, and hands the
 * counts out as numbered batches to ship with the limiter's `lease` calls. Pure: no I/O, time
 * passed in. Design and guarantees: docs/usage.md.
 *
 * Exactly once: a batch keeps its (isolate, seq) name until the Durable Object acknowledged it.
 * A call that failed may still have been applied, so its batches go back unchanged (same seq,
 * same counts) and ride again with the next call, ahead of anything newer; the Durable Object
 * skips a seq it has applied. Numbers lag by one call, never double, never vanish on a failure.
 */

/** What the data path knows when a request is answered. Copied; the object is not kept. */
export interface RequestSample {
  at: number;
  class: UsageClass;
  answer: Answer;
  requestBytes?: number;
  responseBytes?: number;
  /** Upstream latency (ms); absent when no upstream answered. */
  upstreamMs?: number;
  /** Time this request waited for a permit (ms); absent or 0 when one was taken locally. */
  permitWaitMs?: number;
  /** This token's requests in flight in this isolate, this one included. */
  inFlight?: number;
  address?: string;
  country?: string;
  colo?: string;
  userAgent?: string;
}

/** A shipping interval: a token with counts older than this is due for a call of its own. */
export const SHIP_INTERVAL_MS = 60_000;
/**
 * A batch put back is resent for this long after it was first sent, then abandoned (counted in
 * `abandoned`). The Durable Object remembers an isolate's highest seq for SEEN_RETENTION_MS
 * (24 h) after its last shipment; resending past that could count a batch twice, so this window
 * stays well inside it. Only a token whose object failed every call for 12 hours loses counts.
 */
export const RESEND_WINDOW_MS = 12 * 60 * 60_000;

interface Slot {
  cells: Cells;
  /** Updates since the last drain: requests recorded, and byte counts of bodies that streamed on after their request was. */
  count: number;
  firstAt: number;
  /** The latest request: references to the sample's strings, cut only when drained. */
  last: { at: number; class: UsageClass; answer: Answer; address?: string; country?: string; colo?: string; userAgent?: string } | undefined;
  /** Batches drained and not yet acknowledged, in seq order, with when each was first sent. */
  pending: { batch: UsageBatch; sentAt: number }[];
  inFlight: UsageShipment | undefined;
}

export class UsageAccumulator {
  private readonly slots = new Map<string, Slot>();
  private seq = 0;
  /** Batches given up after RESEND_WINDOW_MS of failed calls, and the requests they counted: for a log line. */
  readonly abandoned = { batches: 0, requests: 0 };

  constructor(readonly isolate: string) {}

  /** Counts one answered request. Allocates nothing after a token's first request in a drain interval. */
  record(tokenId: string, s: RequestSample): void {
    const slot = this.countIn(tokenId, s.at);
    const c = slot.cells;
    const cls = CLASS_INDEX[s.class];
    c[requestCell(cls, ANSWER_INDEX[s.answer])]! += 1;
    c[REQUEST_BYTES]! += amount(s.requestBytes);
    c[RESPONSE_BYTES]! += amount(s.responseBytes);
    if (s.upstreamMs !== undefined && s.upstreamMs >= 0) {
      c[latencyCell(cls) + latencyBucket(s.upstreamMs)]! += 1;
      c[latencySumCell(cls)]! += amount(s.upstreamMs);
    }
    if (s.permitWaitMs !== undefined && s.permitWaitMs > 0) {
      c[PERMIT_WAIT_MS]! += amount(s.permitWaitMs);
      c[PERMIT_WAITS]! += 1;
    }
    const inFlight = amount(s.inFlight);
    if (inFlight > c[MAX_CONCURRENCY]!) c[MAX_CONCURRENCY] = inFlight;
    if (slot.last === undefined || s.at >= slot.last.at) {
      slot.last ??= { at: 0, class: s.class, answer: s.answer };
      const l = slot.last;
      l.at = s.at;
      l.class = s.class;
      l.answer = s.answer;
      l.address = s.address;
      l.country = s.country;
      l.colo = s.colo;
      l.userAgent = s.userAgent;
    }
  }

  /**
   * Adds the bytes of bodies that had no Content-Length, counted as they streamed, once the
   * transfer is over: after the request itself was recorded, so they go into whatever batch is
   * open then (never into one drained already: each byte counts once).
   */
  addBytes(tokenId: string, at: number, requestBytes: number, responseBytes: number): void {
    const slot = this.countIn(tokenId, at);
    slot.cells[REQUEST_BYTES]! += amount(requestBytes);
    slot.cells[RESPONSE_BYTES]! += amount(responseBytes);
  }

  /** The token's open slot (made on first use), with one more count at `at` in it. */
  private countIn(tokenId: string, at: number): Slot {
    let slot = this.slots.get(tokenId);
    if (slot === undefined) {
      slot = { cells: newCells(), count: 0, firstAt: at, last: undefined, pending: [], inFlight: undefined };
      this.slots.set(tokenId, slot);
    }
    if (slot.count === 0 || at < slot.firstAt) slot.firstAt = at;
    slot.count++;
    return slot;
  }

  /**
   * What the next call for `tokenId` should carry: batches put back earlier, then the counts
   * since the last drain as a new batch. Undefined when there is nothing, or while a shipment
   * is out (calls are serialised; a later batch must never overtake an unacknowledged one).
   * Settle every shipment with `acknowledge` or `putBack`.
   */
  drain(tokenId: string, now: number): UsageShipment | undefined {
    const slot = this.slots.get(tokenId);
    if (slot === undefined || slot.inFlight !== undefined) return undefined;
    while (slot.pending.length > 0 && now - slot.pending[0]!.sentAt >= RESEND_WINDOW_MS) this.abandon(slot.pending.shift()!.batch);
    if (slot.count > 0 && slot.pending.length < MAX_BATCHES_PER_SHIPMENT) slot.pending.push({ batch: this.cut(slot, now), sentAt: now });
    if (slot.pending.length === 0) {
      this.slots.delete(tokenId); // idle: its memory goes back
      return undefined;
    }
    slot.inFlight = { isolate: this.isolate, tokenId, batches: slot.pending.map((p) => p.batch) };
    return slot.inFlight;
  }

  /** The Durable Object answered: its batches are applied and forgotten here. */
  acknowledge(shipment: UsageShipment): void {
    const slot = this.settle(shipment);
    if (slot !== undefined) slot.pending.splice(0, shipment.batches.length);
  }

  /** The call failed (it may or may not have been applied): its batches ship again, unchanged. */
  putBack(shipment: UsageShipment): void {
    this.settle(shipment);
  }

  /** True when `tokenId` has batches put back, or counts older than the shipping interval. */
  due(tokenId: string, now: number): boolean {
    const slot = this.slots.get(tokenId);
    if (slot === undefined || slot.inFlight !== undefined) return false;
    return slot.pending.length > 0 || (slot.count > 0 && now - slot.firstAt >= SHIP_INTERVAL_MS);
  }

  /** Tokens `due` now: for a once-a-minute sweep that ships counts no `lease` call carried. */
  dueTokens(now: number): string[] {
    return [...this.slots.keys()].filter((id) => this.due(id, now));
  }

  /** Tokens with anything here (counts, pending or in-flight batches). */
  get size(): number {
    return this.slots.size;
  }

  private abandon(batch: UsageBatch): void {
    this.abandoned.batches++;
    for (const [name, n] of Object.entries(batch.cells)) if (name.startsWith("req.")) this.abandoned.requests += n;
  }

  private settle(shipment: UsageShipment): Slot | undefined {
    const slot = this.slots.get(shipment.tokenId);
    if (slot === undefined || slot.inFlight !== shipment) return undefined; // settled already
    slot.inFlight = undefined;
    return slot;
  }

  private cut(slot: Slot, now: number): UsageBatch {
    const batch: UsageBatch = { seq: ++this.seq, from: time(slot.firstAt), to: time(Math.max(slot.firstAt, slot.last?.at ?? now)), cells: encodeCells(slot.cells) };
    if (slot.last !== undefined) batch.last = lastUseOf(slot.last);
    slot.cells.fill(0);
    slot.count = 0;
    slot.last = undefined;
    return batch;
  }
}

function lastUseOf(l: NonNullable<Slot["last"]>): LastUse {
  const out: LastUse = { at: time(l.at), class: l.class, answer: l.answer };
  if (l.address) out.address = cutString(l.address, MAX_PLACE_LENGTH);
  if (l.country) out.country = cutString(l.country, MAX_PLACE_LENGTH);
  if (l.colo) out.colo = cutString(l.colo, MAX_PLACE_LENGTH);
  if (l.userAgent) out.userAgent = cutString(l.userAgent, MAX_USER_AGENT_LENGTH);
  return out;
}

/** A count or duration as a non-negative integer; anything else (NaN, negative, absent) adds 0. */
function amount(n: number | undefined): number {
  return n !== undefined && n > 0 ? Math.round(Math.min(n, Number.MAX_SAFE_INTEGER)) : 0;
}

/** Epoch ms as the wire wants it: a non-negative integer (a broken clock must not make a batch unshippable). */
function time(t: number): number {
  return t > 0 ? Math.min(Math.trunc(t), Number.MAX_SAFE_INTEGER) : 0;
}

import { z } from "zod";
import { SparseCells } from "./cells";
import { Answer, UsageClass } from "./vocabulary";

/**
 * What an isolate ships to a token's Durable Object (riding on a `lease` call) and the
 * Durable Object validates before applying it. Defined once, like LeaseRequest.
 */

/** Longest user agent kept; longer ones are cut (by code point) when a batch is drained. */
export const MAX_USER_AGENT_LENGTH = 256;
/** Address, country and location strings are short; anything longer is not what `request.cf` gives. */
export const MAX_PLACE_LENGTH = 64;

/** The last request of a batch: when, from where, by what, and what it got. */
export const LastUse = z.object({
  at: z.number().int().nonnegative(),
  class: UsageClass,
  answer: Answer,
  /** `CF-Connecting-IP`. */
  address: z.string().max(MAX_PLACE_LENGTH).optional(),
  /** `request.cf.country`. */
  country: z.string().max(MAX_PLACE_LENGTH).optional(),
  /** `request.cf.colo`: the Cloudflare location that served it. */
  colo: z.string().max(MAX_PLACE_LENGTH).optional(),
  userAgent: z.string().max(MAX_USER_AGENT_LENGTH).optional(),
});
export type LastUse = z.infer<typeof LastUse>;

export const UsageBatch = z.object({
  /** Per isolate, increasing; with the isolate id it names the batch, so a replay is applied once. */
  seq: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  /** Isolate time of the first and last request counted in it (epoch ms). */
  from: z.number().int().nonnegative(),
  to: z.number().int().nonnegative(),
  cells: SparseCells,
  last: LastUse.optional(),
});
export type UsageBatch = z.infer<typeof UsageBatch>;

/** Most batches one call carries: batches put back after failed calls, then one fresh batch. */
export const MAX_BATCHES_PER_SHIPMENT = 4;

export const UsageShipment = z.object({
  /** Random id of the isolate (the limiter's lease holder id fits). */
  isolate: z.string().min(1).max(200),
  tokenId: z.string().min(1).max(200),
  /** In increasing `seq` order. */
  batches: z
    .array(UsageBatch)
    .min(1)
    .max(MAX_BATCHES_PER_SHIPMENT)
    .refine((b) => b.every((x, i) => i === 0 || x.seq > b[i - 1]!.seq), { message: "batches must be in increasing seq order" }),
});
export type UsageShipment = z.infer<typeof UsageShipment>;

/** Cuts `s` to at most `max` UTF-16 units without splitting a surrogate pair. */
export function cutString(s: string, max: number): string {
  if (s.length <= max) return s;
  const end = /[\uD800-\uDBFF]/.test(s[max - 1]!) ? max - 1 : max;
  return s.slice(0, end);
}

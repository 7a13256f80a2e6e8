import type { LimiterNamespace, Pool } from "./pool-state";

/**
 * What the limiter answers an acquire: a permit, or a refusal or failure as a value. The data
 * path (src/data/permit.ts) maps refusals to HTTP; the pools (permit-pool.ts) produce them.
 */

export interface Permit {
  /** Gives the permit back. Idempotent; local only, never awaits. */
  release(): void;
}

export type PermitResult =
  | { ok: true; permit: Permit }
  /**
   * - `limit`: no permit within the wait; `retryAfterSeconds` estimates when one will be free.
   * - `revoked`: the token's Durable Object revoked it, or it expired at `expiredAt` (nothing to retry).
   * - `unavailable`: the Durable Object did not answer in time.
   * - `aborted`: the client went away while waiting.
   */
  | { ok: false; reason: "limit" | "revoked" | "unavailable" | "aborted"; retryAfterSeconds: number; expiredAt?: number };

export interface AcquireOptions {
  /** How long to wait for a permit before refusing (default DEFAULT_MAX_WAIT_MS, at most MAX_WAIT_CEILING_MS; 0: refuse at once). */
  maxWaitMs?: number;
  /** The client's request signal: a client that disconnects leaves the queue. */
  signal?: AbortSignal;
  /** This isolate's location objects (the second level), named by token id; used once the token's object asks for it. */
  location?: LimiterNamespace;
}

/** A revoked token is answered 401 and never becomes valid again, so there is nothing to retry. */
const REVOKED: PermitResult = Object.freeze({ ok: false, reason: "revoked", retryAfterSeconds: 0 });
/** The refusal of a revoked pool: with the expiry instant when the token's object said it expired. */
export const refusedAs = (pool: Pool): PermitResult => (pool.expiredAt === undefined ? REVOKED : { ok: false, reason: "revoked", retryAfterSeconds: 0, expiredAt: pool.expiredAt });
export const UNAVAILABLE: PermitResult = Object.freeze({ ok: false, reason: "unavailable", retryAfterSeconds: 1 });
export const ABORTED: PermitResult = Object.freeze({ ok: false, reason: "aborted", retryAfterSeconds: 1 });

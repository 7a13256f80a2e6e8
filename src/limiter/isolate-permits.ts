import { PermitPools } from "./permit-pool";
import type { AcquireOptions, PermitResult } from "./permit-result";
import type { LimiterNamespace, WaitUntil } from "./pool-state";
import type { TokenLimiter } from "./token-limiter";

/**
 * This isolate's permit pools, and the calls that reach every isolate through the token's
 * Durable Object (revoke, expire). The data path and the token domain use these; tests and the
 * simulator build PermitPools of their own.
 */

/** `wrangler types` may type the binding without its class; both name the same namespace. */
export type TokenLimiterNamespace = DurableObjectNamespace<TokenLimiter> | DurableObjectNamespace;

const isolatePools = new PermitPools();

/** Takes one of the token's permits: locally when the isolate's lease allows, else via a `lease` call, waiting up to `maxWaitMs`. */
export function acquirePermit(ns: TokenLimiterNamespace | LimiterNamespace, tokenId: string, limit: number, waitUntil: WaitUntil, options?: AcquireOptions): Promise<PermitResult> {
  return isolatePools.acquire(ns as unknown as LimiterNamespace, tokenId, limit, waitUntil, options);
}

/** After a revoke in this isolate: later acquires refuse at once, without asking the DO. */
export function forgetToken(tokenId: string): void {
  isolatePools.forget(tokenId);
}

/** Revokes the token in its Durable Object (every isolate learns within one check-in), then here at once. */
export async function revokeToken(ns: TokenLimiterNamespace, tokenId: string): Promise<void> {
  await (ns as DurableObjectNamespace<TokenLimiter>).getByName(tokenId).revoke(tokenId);
  forgetToken(tokenId);
}

/** Tells the token's Durable Object it expires at `at` (a rotation); every isolate learns it within one check-in. */
export async function expireToken(ns: TokenLimiterNamespace, tokenId: string, at: number): Promise<void> {
  await (ns as DurableObjectNamespace<TokenLimiter>).getByName(tokenId).expire(at, tokenId);
}

/** This isolate's view of a token's permits (operators' diagnostics; tests wait on it). */
export function permitPoolStats(tokenId: string): { held: number; inUse: number; waiting: number; revoked: boolean } | undefined {
  return isolatePools.stats(tokenId);
}

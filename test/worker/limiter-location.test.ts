import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { LocationLimiter } from "../../src/limiter/location-limiter";
import { revokeToken } from "../../src/limiter/isolate-permits";
import { PermitPools } from "../../src/limiter/permit-pool";
import type { Permit, PermitResult } from "../../src/limiter/permit-result";
import type { LimiterNamespace } from "../../src/limiter/pool-state";
import type { TokenLimiter } from "../../src/limiter/token-limiter";

/** The second level through the real bindings: two location objects between isolates and the token's object. */
const tokens = env.TOKEN_LIMITER as unknown as DurableObjectNamespace<TokenLimiter>;
const locations = env.LOCATION_LIMITER as unknown as DurableObjectNamespace<LocationLimiter>;
const at = (colo: string): LimiterNamespace => ({ getByName: (tokenId) => locations.getByName(`${tokenId}@${colo}`) });
const newTokenId = () => `tok_${crypto.randomUUID()}`;
const noWait = () => {};

function permitOf(r: PermitResult): Permit {
  if (!r.ok) throw new Error(`expected a permit, got ${r.reason}`);
  return r.permit;
}

describe("per-location objects against the real TokenLimiter", () => {
  it("isolates in two locations share the limit exactly; the token's object sees the two locations only", async () => {
    const tokenId = newTokenId();
    const limit = 4;
    const fra = [new PermitPools("iso-fra-1"), new PermitPools("iso-fra-2")];
    const ams = [new PermitPools("iso-ams-1")];
    const held: Permit[] = [];
    // Acquire in turn from the three isolates, more than the limit in all.
    const pools = [fra[0]!, ams[0]!, fra[1]!];
    const colo = ["FRA", "AMS", "FRA"];
    for (let i = 0; i < 3 * limit; i++) {
      const r = await pools[i % 3]!.acquire(tokens, tokenId, limit, noWait, { location: at(colo[i % 3]!), maxWaitMs: 0 });
      if (r.ok) held.push(r.permit);
      else expect(r.reason).toBe("limit");
    }
    expect(held.length).toBeLessThanOrEqual(limit);
    expect(held.length).toBeGreaterThanOrEqual(2);

    const state = await tokens.getByName(tokenId).state();
    expect(state.leases.every((l) => l.holder.startsWith("loc:"))).toBe(true);
    expect(state.leases).toHaveLength(2);
    expect(state.leasedPermits).toBeLessThanOrEqual(limit);
    const fraState = await locations.getByName(`${tokenId}@FRA`).state();
    const amsState = await locations.getByName(`${tokenId}@AMS`).state();
    expect(fraState.subLeased + amsState.subLeased).toBeLessThanOrEqual(limit);
    expect(fraState.subLeased).toBeLessThanOrEqual(fraState.block);
    expect(amsState.subLeased).toBeLessThanOrEqual(amsState.block);
    held.forEach((p) => p.release());
    [...fra, ...ams].forEach((p) => p.reset());
  });

  it("a revocation reaches an isolate behind a location object at its next check-in", async () => {
    const tokenId = newTokenId();
    let now = Date.now();
    const isolate = new PermitPools("iso-fra", {}, () => now);
    permitOf(await isolate.acquire(tokens, tokenId, 5, noWait, { location: at("FRA") })).release();
    await revokeToken(tokens, tokenId); // in another isolate
    // One isolate check-in later; the location's block is older than its own check-in (moved on with its clock).
    now += 1_000;
    const later = Date.now() + 1_000;
    await runInDurableObject(locations.getByName(`${tokenId}@FRA`), (instance: LocationLimiter) => {
      instance.clock = () => later;
    });
    expect(await isolate.acquire(tokens, tokenId, 5, noWait, { location: at("FRA") })).toMatchObject({ ok: false, reason: "revoked" });
    expect((await locations.getByName(`${tokenId}@FRA`).state()).revoked).toBe(true);
    isolate.reset();
  });
});

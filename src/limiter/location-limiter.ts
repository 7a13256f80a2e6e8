import { DurableObject } from "cloudflare:workers";
import { BlockLedger, DEFAULT_BLOCK_TIMINGS } from "./block-ledger";
import { type LeaseGrant, LeaseRequest } from "./lease-ledger";
import type { TokenLimiter } from "./token-limiter";

/**
 * One per token and location (`<token id>@<colo>`, created near its first caller, i.e. in that
 * location): leases a block of the token's permits from the token's TokenLimiter and re-leases
 * it to the location's isolates (BlockLedger; docs/limiter.md). State is memory only — no
 * storage writes per call: an instance that starts afresh takes a new holder id, and the old
 * block keeps counting at the token's object until its deadline, covering what it handed out.
 */
export class LocationLimiter extends DurableObject<Env> {
  private readonly ledger: BlockLedger;
  /** The object's clock; tests drive time through runInDurableObject instead of sleeping. */
  clock: () => number = () => Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const ns = env.TOKEN_LIMITER as unknown as DurableObjectNamespace<TokenLimiter>;
    this.ledger = new BlockLedger(
      `loc:${ctx.id.toString().slice(0, 16)}:${crypto.randomUUID()}`,
      (tokenId) => ns.getByName(tokenId),
      () => this.clock(),
      DEFAULT_BLOCK_TIMINGS,
      (work) => ctx.waitUntil(work),
    );
  }

  async lease(input: LeaseRequest): Promise<LeaseGrant> {
    const parsed = LeaseRequest.safeParse(input);
    if (!parsed.success || parsed.data.tokenId === undefined) throw new RangeError("invalid lease request");
    return this.ledger.lease(parsed.data);
  }

  /** For tests and operators. */
  async state(): Promise<{ block: number; subLeased: number; revoked: boolean }> {
    return this.ledger.state();
  }
}

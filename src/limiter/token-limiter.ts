import { DurableObject } from "cloudflare:workers";
import { writeLastUsed } from "../store/last-used";
import {
  CONTENTION_WINDOW_MS,
  type Lease,
  type LeaseGrant,
  LeaseRequest,
  decideLease,
  earliestExpiry,
  expiredHolders,
  isTight,
  livePermits,
  routeViaLocation,
} from "./lease-ledger";
import type { UsageShipment } from "../usage/batch";
import { acceptShipment, loadUsage, nextPruneAt, persistRows } from "../usage/persist";
import { type UsageState, applyShipment, emptyState, noWrites, prune } from "../usage/store";

/** The last-used time reaches D1 at most this often per token. */
export const LAST_USED_SYNC_INTERVAL_MS = 60_000;
/**
 * An expired lease stops counting at its deadline (every decision skips it); the alarm only
 * deletes it from storage, so it may run this much later and sweep several at once.
 */
export const SWEEP_DELAY_MS = 5_000;

/** Storage keys (documented in docs/storage.md and docs/limiter.md). */
const LEASE_PREFIX = "lease:";
const REVOKED_KEY = "revoked";
const EXPIRES_KEY = "expires_at";
const USAGE_KEY = "usage";
const SYNC_KEY = "last_used_sync";

interface Usage {
  /** Requests served under this token, as reported by the holders. */
  requests: number;
  /** `lease` calls answered (each one billed DO request). */
  leaseCalls: number;
  /** Epoch ms of the last call that reported use or held permits; null if never used. */
  lastUsedAt: number | null;
}

interface LastUsedSync {
  tokenId: string | null;
  /** Epoch ms of the last write attempt to D1 (0: never). */
  writtenAt: number;
  /** The last_used_at value last written. */
  value: number | null;
}

export interface LimiterState {
  tokenId: string | null;
  revoked: boolean;
  /** Epoch ms from which every lease call is answered as expired (set by a rotation); null: none. */
  expiresAt: number | null;
  leases: { holder: string; permits: number; expiresAt: number }[];
  /** Permits in unexpired leases. */
  leasedPermits: number;
  usage: Usage;
  lastUsedSync: LastUsedSync;
  alarmAt: number | null;
}

const NO_GRANT_REVOKED: LeaseGrant = { granted: 0, expiresAt: 0, revoked: true, contended: false };

/**
 * One per access token (named by its id): the exact count of the token's permits, leased in
 * batches to isolates (see docs/limiter.md), and the authority on its revocation. State lives in
 * memory and is mirrored to storage on every change, so eviction or restart loses nothing.
 */
export class TokenLimiter extends DurableObject<Env> {
  private leases = new Map<string, Lease>();
  private revoked = false;
  private expiresAt: number | null = null;
  private usage: Usage = { requests: 0, leaseCalls: 0, lastUsedAt: null };
  private sync: LastUsedSync = { tokenId: null, writtenAt: 0, value: null };
  private alarmAt: number | null = null;
  private contendedUntil = 0;
  /** Per-token usage (docs/usage.md): `usage:*` rows, mirrored in memory. */
  private usageState: UsageState = emptyState();
  /** The object's clock; tests drive time through runInDurableObject instead of sleeping. */
  clock: () => number = () => Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.list<Lease>({ prefix: LEASE_PREFIX });
      for (const [key, lease] of stored) this.leases.set(key.slice(LEASE_PREFIX.length), lease);
      this.revoked = (await ctx.storage.get<boolean>(REVOKED_KEY)) === true;
      this.expiresAt = (await ctx.storage.get<number>(EXPIRES_KEY)) ?? null;
      this.usage = (await ctx.storage.get<Usage>(USAGE_KEY)) ?? this.usage;
      this.sync = (await ctx.storage.get<LastUsedSync>(SYNC_KEY)) ?? this.sync;
      this.alarmAt = await ctx.storage.getAlarm();
      this.usageState = await loadUsage(ctx.storage);
    });
  }

  /** Sets `holder`'s lease to at most `want` permits, keeping all live leases within `limit`. */
  async lease(input: LeaseRequest): Promise<LeaseGrant> {
    const parsed = LeaseRequest.safeParse(input);
    if (!parsed.success) throw new RangeError(`invalid lease request: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const req = parsed.data;
    const now = this.clock();
    const writes: Record<string, unknown> = {};
    if (req.tokenId !== undefined && req.tokenId !== this.sync.tokenId) {
      this.sync = { ...this.sync, tokenId: req.tokenId };
      writes[SYNC_KEY] = this.sync;
    }

    let grant = NO_GRANT_REVOKED;
    const expired = this.expiresAt !== null && now >= this.expiresAt;
    if (expired) {
      grant = { ...NO_GRANT_REVOKED, expiredAt: this.expiresAt! };
      if (this.leases.delete(req.holder)) await this.ctx.storage.delete(LEASE_PREFIX + req.holder);
    } else if (!this.revoked) {
      const decision = decideLease(this.leases, req, now);
      if (decision.short) this.contendedUntil = now + CONTENTION_WINDOW_MS;
      if (decision.lease) {
        this.leases.set(req.holder, decision.lease);
        writes[LEASE_PREFIX + req.holder] = decision.lease;
      } else if (this.leases.delete(req.holder)) {
        await this.ctx.storage.delete(LEASE_PREFIX + req.holder);
      }
      grant = {
        granted: decision.granted,
        expiresAt: decision.granted > 0 ? decision.lease!.expiresAt : 0,
        revoked: false,
        contended: now < this.contendedUntil || isTight(livePermits(this.leases, now), req.limit),
        ...(decision.share !== undefined ? { share: decision.share } : {}),
        ...(routeViaLocation(this.leases, req.holder, now) ? { route: "location" as const } : {}),
      };
    }

    this.usage = {
      requests: this.usage.requests + req.used,
      leaseCalls: this.usage.leaseCalls + 1,
      lastUsedAt: req.used > 0 || grant.granted > 0 ? now : this.usage.lastUsedAt,
    };
    writes[USAGE_KEY] = this.usage;
    const usage = req.usage === undefined ? undefined : this.acceptUsage(req.usage);
    const rows = noWrites();
    if (usage !== undefined) applyShipment(this.usageState, usage, now, rows);
    await persistRows(this.ctx.storage, rows, writes);
    await this.scheduleAlarm(now);
    if (req.usage !== undefined) grant = { ...grant, usage: usage === undefined ? "refused" : "applied" };
    // Not awaited: the D1 write must not delay the holder's acquire.
    const syncDue = this.lastUsedSyncDue(now);
    if (syncDue !== undefined && syncDue <= now) this.ctx.waitUntil(this.syncLastUsed(now));
    return grant;
  }

  /**
   * Usage an isolate ships without a lease call (docs/usage.md: at most once a minute per isolate
   * and token). Each batch is applied at most once; "refused" for a malformed shipment or one for
   * another token, which the isolate drops rather than resend.
   */
  async ship(input: unknown): Promise<"applied" | "refused"> {
    const shipment = this.acceptUsage(input);
    if (shipment === undefined) return "refused";
    const now = this.clock();
    const rows = noWrites();
    applyShipment(this.usageState, shipment, now, rows);
    const extra: Record<string, unknown> = {};
    if (this.sync.tokenId === null) extra[SYNC_KEY] = this.sync = { ...this.sync, tokenId: shipment.tokenId };
    await persistRows(this.ctx.storage, rows, extra);
    await this.scheduleAlarm(now);
    return "applied";
  }

  /** For tests and the usage endpoints: this token's usage as kept. */
  async usageRows(): Promise<UsageState> {
    return this.usageState;
  }

  private acceptUsage(input: unknown): UsageShipment | undefined {
    const shipment = acceptShipment(input, this.sync.tokenId);
    if (shipment === undefined) console.warn(JSON.stringify({ level: "warn", msg: "usage shipment refused", token_id: this.sync.tokenId }));
    return shipment;
  }

  /** Revokes the token for good: drops every lease and refuses every later one. */
  async revoke(tokenId?: string): Promise<void> {
    this.revoked = true;
    const keys = [...this.leases.keys()].map((holder) => LEASE_PREFIX + holder);
    this.leases.clear();
    if (keys.length > 0) await this.ctx.storage.delete(keys);
    const writes: Record<string, unknown> = { [REVOKED_KEY]: true };
    if (tokenId !== undefined && this.sync.tokenId === null) {
      this.sync = { ...this.sync, tokenId };
      writes[SYNC_KEY] = this.sync;
    }
    await this.ctx.storage.put(writes);
    await this.scheduleAlarm(this.clock());
  }

  /**
   * Refuses the token from `at` on (a rotation brought its expiry forward): every lease call from
   * then on is answered revoked with `expiredAt`, so every isolate learns it within one check-in,
   * as for a revocation. Never moves an expiry later.
   */
  async expire(at: number, tokenId?: string): Promise<void> {
    if (this.expiresAt !== null && this.expiresAt <= at) return;
    this.expiresAt = at;
    const writes: Record<string, unknown> = { [EXPIRES_KEY]: at };
    if (tokenId !== undefined && this.sync.tokenId === null) {
      this.sync = { ...this.sync, tokenId };
      writes[SYNC_KEY] = this.sync;
    }
    await this.ctx.storage.put(writes);
  }

  /** For tests and operators. */
  async state(): Promise<LimiterState> {
    const now = this.clock();
    return {
      tokenId: this.sync.tokenId,
      revoked: this.revoked,
      expiresAt: this.expiresAt,
      leases: [...this.leases].map(([holder, l]) => ({ holder, permits: l.permits, expiresAt: l.expiresAt })),
      leasedPermits: livePermits(this.leases, now),
      usage: { ...this.usage },
      lastUsedSync: { ...this.sync },
      alarmAt: this.alarmAt,
    };
  }

  /** Sweeps expired leases (holders that vanished) and writes a pending last-used time to D1. */
  override async alarm(): Promise<void> {
    const now = this.clock();
    this.alarmAt = null; // the alarm that is running is consumed
    const expired = expiredHolders(this.leases, now);
    for (const holder of expired) this.leases.delete(holder);
    if (expired.length > 0) await this.ctx.storage.delete(expired.map((holder) => LEASE_PREFIX + holder));
    const due = this.lastUsedSyncDue(now);
    if (due !== undefined && due <= now) await this.syncLastUsed(now);
    await persistRows(this.ctx.storage, prune(this.usageState, now));
    await this.scheduleAlarm(now);
  }

  /** When a pending last-used time may be written to D1; undefined when nothing is pending. */
  private lastUsedSyncDue(now: number): number | undefined {
    const { lastUsedAt } = this.usage;
    if (this.sync.tokenId === null || lastUsedAt === null || lastUsedAt === this.sync.value) return undefined;
    return Math.max(now - LAST_USED_SYNC_INTERVAL_MS, this.sync.writtenAt) + LAST_USED_SYNC_INTERVAL_MS;
  }

  private async syncLastUsed(now: number): Promise<void> {
    const previous = this.sync;
    const tokenId = previous.tokenId;
    const value = this.usage.lastUsedAt;
    if (tokenId === null || value === null) return;
    // Claimed before the write so concurrent calls do not write twice within the interval.
    this.sync = { tokenId, writtenAt: now, value };
    await this.ctx.storage.put(SYNC_KEY, this.sync);
    try {
      await writeLastUsed(this.env.DB, tokenId, value);
    } catch (err) {
      console.error(JSON.stringify({ level: "error", msg: "last_used_at write to D1 failed", token_id: tokenId, error: String(err) }));
      // Retried by the alarm one interval later.
      this.sync = { ...this.sync, value: previous.value };
      await this.ctx.storage.put(SYNC_KEY, this.sync);
      await this.scheduleAlarm(this.clock());
    }
  }

  /**
   * Keeps one alarm at the earliest lease deadline or pending D1 write. An alarm that is already
   * earlier is left alone (it fires, finds nothing due, and reschedules), so renewals that push
   * deadlines out do not each cost an alarm write.
   */
  private async scheduleAlarm(now: number): Promise<void> {
    const expiry = earliestExpiry(this.leases);
    const candidates = [expiry === undefined ? undefined : expiry + SWEEP_DELAY_MS, this.lastUsedSyncDue(now), nextPruneAt(this.usageState, now)].filter(
      (t): t is number => t !== undefined,
    );
    if (candidates.length === 0) {
      if (this.alarmAt !== null) {
        await this.ctx.storage.deleteAlarm();
        this.alarmAt = null;
      }
      return;
    }
    const next = Math.min(...candidates);
    // An alarm time in the past has fired (or is firing) already.
    if (this.alarmAt === null || next < this.alarmAt || this.alarmAt <= now) {
      await this.ctx.storage.setAlarm(next);
      this.alarmAt = next;
    }
  }
}

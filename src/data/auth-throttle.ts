import {
  convertIPv4BinaryToString,
  convertIPv4MappedIPv6ToIPv4,
  convertIPv4ToBinary,
  convertIPv6ToBinary,
  distinctRemoteAddr,
  isIPv4MappedIPv6,
} from "hono/utils/ipaddr";
import { HttpError } from "../errors";

/**
 * Per-client throttle of failed authentications on the data plane, kept in isolate memory.
 *
 * A client (the address in `CF-Connecting-IP`; an IPv6 address counts as its /64, which one
 * client usually holds whole) has a failure score that rises by one per failed authentication
 * and drains linearly over `windowMs`. At `maxFailures` the client is refused with 429 and
 * `Retry-After` before any KV or D1 lookup, until the score has drained below the limit.
 *
 * - Successes are never counted, and a refusal by the throttle itself is not a failure, so a
 *   throttled client is let back in by time alone.
 * - A request whose credential is a token this isolate already knows to be valid is never
 *   throttled: an agent behind the same NAT as a misconfigured one keeps working.
 * - 429 (not 401) is what vmagent and Prometheus retry with back-off, which suits an agent with
 *   a wrong token: it keeps its data and stops hammering.
 * - Without a usable `CF-Connecting-IP` (never the case behind Cloudflare) nothing is
 *   throttled: one shared bucket would let any client lock out every other.
 * - Memory is bounded: at `maxClients` the least recently failing clients are dropped first.
 *
 * Pure apart from the clock, which callers pass in.
 */

export interface ThrottleSettings {
  /** Failures a client may accumulate; at this score it is refused. */
  maxFailures: number;
  /** How long a full score takes to drain to zero. */
  windowMs: number;
  /** Clients tracked at once. */
  maxClients: number;
}

export const DEFAULT_THROTTLE: Readonly<ThrottleSettings> = Object.freeze({ maxFailures: 20, windowMs: 60_000, maxClients: 10_000 });

/** Entries looked at for a drained one before the least recently failing client is dropped. */
const EVICTION_SCAN = 16;

interface Score {
  value: number;
  at: number;
}

export class FailedAuthThrottle {
  private readonly clients = new Map<string, Score>();
  private readonly drainPerMs: number;

  constructor(private readonly settings: ThrottleSettings = DEFAULT_THROTTLE) {
    this.drainPerMs = settings.maxFailures / settings.windowMs;
  }

  /** Seconds `client` must wait before its next attempt counts, or 0 when it is not throttled. */
  retryAfterSeconds(client: string, now: number): number {
    const score = this.scoreAt(client, now);
    if (score < this.settings.maxFailures) return 0;
    const msUntilBelow = (score - this.settings.maxFailures + 1) / this.drainPerMs;
    return Math.max(1, Math.ceil(msUntilBelow / 1000));
  }

  recordFailure(client: string, now: number): void {
    // Capped so a burst of failures cannot block a client for more than one window.
    const value = Math.min(this.settings.maxFailures * 2, this.scoreAt(client, now) + 1);
    this.clients.delete(client); // re-inserted last: Map order is least recently failing first
    if (this.clients.size >= this.settings.maxClients) this.evict(now);
    this.clients.set(client, { value, at: now });
  }

  reset(): void {
    this.clients.clear();
  }

  /** Clients tracked (for tests). */
  get size(): number {
    return this.clients.size;
  }

  private scoreAt(client: string, now: number): number {
    const s = this.clients.get(client);
    if (!s) return 0;
    return Math.max(0, s.value - Math.max(0, now - s.at) * this.drainPerMs);
  }

  private evict(now: number): void {
    let scanned = 0;
    for (const client of this.clients.keys()) {
      if (scanned++ >= EVICTION_SCAN) break;
      if (this.scoreAt(client, now) === 0) {
        this.clients.delete(client);
        return;
      }
    }
    const oldest = this.clients.keys().next().value;
    if (oldest !== undefined) this.clients.delete(oldest);
  }
}

/**
 * The throttle key of a request: its `CF-Connecting-IP` — IPv4 as is, IPv6 as its /64 — or
 * undefined when the header is missing or is no IP address. Parsing is hono's (hono/utils/ipaddr).
 */
export function clientKeyOf(headers: Headers): string | undefined {
  const ip = headers.get("cf-connecting-ip")?.trim();
  if (!ip || ip.length > 45) return undefined;
  try {
    const kind = distinctRemoteAddr(ip);
    if (kind === "IPv4") return convertIPv4BinaryToString(convertIPv4ToBinary(ip));
    if (kind !== "IPv6") return undefined;
    const address = convertIPv6ToBinary(ip);
    // IPv4-mapped (::ffff:a.b.c.d) is the IPv4 client it maps.
    if (isIPv4MappedIPv6(address)) return convertIPv4BinaryToString(convertIPv4MappedIPv6ToIPv4(address));
    const groups = [3, 2, 1, 0].map((i) => ((address >> BigInt(64 + 16 * i)) & 0xffffn).toString(16));
    return `${groups.join(":")}::/64`;
  } catch {
    return undefined; // hono throws on anything that is no address
  }
}

/** The isolate's throttle. */
const isolateThrottle = new FailedAuthThrottle();

/** Refuses a throttled client with 429 unless its credential is a token known valid here. */
export function refuseIfThrottled(client: string | undefined, knownValid: boolean, now = Date.now()): void {
  if (client === undefined || knownValid) return;
  const retryAfter = isolateThrottle.retryAfterSeconds(client, now);
  if (retryAfter > 0) {
    throw new HttpError(
      429,
      "too_many_failed_authentications",
      "Too many failed authentications from this address: check the access token this client sends, then retry after the Retry-After delay.",
      { "retry-after": String(retryAfter) },
    );
  }
}

/** Counts a failed authentication of `client` (no-op without a client key). */
export function recordFailedAuthentication(client: string | undefined, now = Date.now()): void {
  if (client !== undefined) isolateThrottle.recordFailure(client, now);
}

/** Tests: forget every client. */
export function resetAuthThrottle(): void {
  isolateThrottle.reset();
}

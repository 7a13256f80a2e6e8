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

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * The throttle key of a request: its `CF-Connecting-IP` — IPv4 as is, IPv6 as its /64 — or
 * undefined when the header is missing or is no IP address.
 */
export function clientKeyOf(headers: Headers): string | undefined {
  const ip = headers.get("cf-connecting-ip")?.trim();
  if (!ip || ip.length > 45) return undefined;
  const v4 = IPV4.exec(ip);
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255) ? v4.slice(1).map(Number).join(".") : undefined;
  const groups = expandIpv6(ip);
  if (!groups) return undefined;
  // IPv4-mapped (::ffff:a.b.c.d) is the IPv4 client it maps.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join(".");
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (with `::` and a trailing dotted quad), or undefined. */
function expandIpv6(text: string): number[] | undefined {
  let ip = text.toLowerCase();
  const zone = ip.indexOf("%");
  if (zone >= 0) ip = ip.slice(0, zone);
  const lastColon = ip.lastIndexOf(":");
  const quad = IPV4.exec(ip.slice(lastColon + 1));
  if (quad) {
    const o = quad.slice(1).map(Number);
    if (o.some((x) => x > 255)) return undefined;
    ip = `${ip.slice(0, lastColon + 1)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const halves = ip.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head.concat(tail).every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  return [...head, ...Array<string>(missing).fill("0"), ...tail].map((g) => parseInt(g, 16));
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

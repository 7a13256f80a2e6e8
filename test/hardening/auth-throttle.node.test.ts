import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clientKeyOf, DEFAULT_THROTTLE, FailedAuthThrottle } from "../../src/data/auth-throttle";

const { maxFailures, windowMs } = DEFAULT_THROTTLE;
const headers = (ip?: string) => new Headers(ip === undefined ? {} : { "cf-connecting-ip": ip });

describe("FailedAuthThrottle", () => {
  it("lets a client fail maxFailures times, then refuses it with a Retry-After that drains", () => {
    const t = new FailedAuthThrottle();
    for (let i = 0; i < maxFailures - 1; i++) t.recordFailure("1.2.3.4", 0);
    expect(t.retryAfterSeconds("1.2.3.4", 0)).toBe(0);
    t.recordFailure("1.2.3.4", 0);
    const wait = t.retryAfterSeconds("1.2.3.4", 0);
    expect(wait).toBe(Math.ceil(windowMs / maxFailures / 1000));
    expect(t.retryAfterSeconds("1.2.3.4", wait * 1000)).toBe(0);
    expect(t.retryAfterSeconds("5.6.7.8", 0)).toBe(0); // others unaffected
  });

  it("a burst blocks a client for about one window at most", () => {
    const t = new FailedAuthThrottle();
    for (let i = 0; i < 10_000; i++) t.recordFailure("1.2.3.4", 0);
    expect(t.retryAfterSeconds("1.2.3.4", 0)).toBeGreaterThan(0);
    expect(t.retryAfterSeconds("1.2.3.4", 0)).toBeLessThanOrEqual(Math.ceil((windowMs + windowMs / maxFailures) / 1000));
    expect(t.retryAfterSeconds("1.2.3.4", windowMs + windowMs / maxFailures)).toBe(0);
  });

  it("property: fewer than maxFailures failures never throttle; throttling ends a window after the last failure", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(10 * windowMs), { maxLength: 200 }), (times) => {
        const t = new FailedAuthThrottle();
        const sorted = [...times].sort((a, b) => a - b);
        for (const [i, at] of sorted.entries()) {
          t.recordFailure("c", at);
          if (i + 1 < maxFailures) expect(t.retryAfterSeconds("c", at)).toBe(0);
        }
        const last = sorted.at(-1) ?? 0;
        expect(t.retryAfterSeconds("c", last + windowMs + windowMs / maxFailures + 1)).toBe(0);
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it("property: a client is never throttled unless it failed maxFailures times within the last two windows", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("a", "b", "c"), fc.nat(5 * windowMs)), { maxLength: 300 }), fc.nat(6 * windowMs), (events, probe) => {
        const t = new FailedAuthThrottle();
        const sorted = [...events].sort((x, y) => x[1] - y[1]).filter(([, at]) => at <= probe);
        for (const [c, at] of sorted) t.recordFailure(c, at);
        for (const c of ["a", "b", "c"]) {
          const recent = sorted.filter(([k, at]) => k === c && at > probe - 2 * windowMs).length;
          if (t.retryAfterSeconds(c, probe) > 0) expect(recent).toBeGreaterThanOrEqual(maxFailures);
        }
      }),
      { seed: 11, numRuns: 300 },
    );
  });

  it("keeps at most maxClients clients, dropping drained or least recently failing ones first", () => {
    const t = new FailedAuthThrottle({ maxFailures: 3, windowMs: 1000, maxClients: 100 });
    for (let i = 0; i < 3; i++) t.recordFailure("attacker", 0);
    for (let i = 0; i < 10_000; i++) {
      t.recordFailure(`10.0.${i >> 8}.${i & 255}`, 0);
      if (i % 50 === 0) t.recordFailure("attacker", 0); // still failing: stays tracked
    }
    expect(t.size).toBeLessThanOrEqual(100);
    expect(t.retryAfterSeconds("attacker", 0)).toBeGreaterThan(0);
  });
});

describe("clientKeyOf (CF-Connecting-IP)", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7"],
    [" 203.0.113.7 ", "203.0.113.7"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:DB8:1:2::99", "2001:db8:1:2::/64"],
    ["2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"],
    ["::1", "0:0:0:0::/64"],
    ["::ffff:198.51.100.4", "198.51.100.4"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
  ])("%s → %s", (ip, key) => {
    expect(clientKeyOf(headers(ip))).toBe(key);
  });

  it.each([undefined, "", "unknown", "256.1.1.1", "1.2.3", "1:2:3:4:5:6:7:8:9", "1::2::3", "g::1", "x".repeat(100), "1.2.3.4, 5.6.7.8"])(
    "%s → not throttled (no key)",
    (ip) => {
      expect(clientKeyOf(headers(ip))).toBeUndefined();
    },
  );

  it("two addresses of one /64 share a key; different /64s do not", () => {
    expect(clientKeyOf(headers("2001:db8:a:b::1"))).toBe(clientKeyOf(headers("2001:db8:a:b:ffff::2")));
    expect(clientKeyOf(headers("2001:db8:a:b::1"))).not.toBe(clientKeyOf(headers("2001:db8:a:c::1")));
  });
});

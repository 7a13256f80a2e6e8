import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addressAllowed, checkClientAddress, compileNetworks, MAX_ALLOWED_NETWORKS, parseAllowedNetworks } from "../../src/policy/networks";

function canonical(input: string[]): string[] {
  const result = parseAllowedNetworks(input);
  if (!result.ok) throw new Error(result.reason);
  return result.networks;
}

function allowed(networks: string[], ip: string | undefined): boolean {
  return addressAllowed(compileNetworks(canonical(networks)), ip);
}

describe("parseAllowedNetworks: canonical forms", () => {
  it.each([
    ["10.0.0.0/8", "10.0.0.0/8"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["192.0.2.7", "192.0.2.7/32"],
    ["192.0.2.7/32", "192.0.2.7/32"],
    ["2001:db8::/32", "2001:db8::/32"],
    ["2001:0DB8:0000:0000:0000:0000:0000:0000/32", "2001:db8::/32"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1/128"],
    ["::/0", "::/0"],
    ["::1", "::1/128"],
    ["::ffff:10.0.0.0/104", "10.0.0.0/8"],
    ["::ffff:a00:0/104", "10.0.0.0/8"],
    ["::ffff:192.0.2.7", "192.0.2.7/32"],
    ["::ffff:0.0.0.0/96", "0.0.0.0/0"],
    ["fe80::/10", "fe80::/10"],
  ])("%s → %s", (input, expected) => {
    expect(canonical([input])).toEqual([expected]);
  });

  it("drops duplicates after canonicalisation and keeps the order", () => {
    expect(canonical(["10.0.0.0/8", "2001:db8::/32", "::ffff:10.0.0.0/104", "2001:DB8::/32", "192.0.2.1"])).toEqual([
      "10.0.0.0/8",
      "2001:db8::/32",
      "192.0.2.1/32",
    ]);
  });

  it(`accepts exactly ${MAX_ALLOWED_NETWORKS} networks`, () => {
    const many = Array.from({ length: MAX_ALLOWED_NETWORKS }, (_, i) => `10.0.${i}.0/24`);
    expect(canonical(many)).toHaveLength(MAX_ALLOWED_NETWORKS);
  });
});

describe("parseAllowedNetworks: refusals name the entry and the rule", () => {
  it.each([
    ["10.1.2.3/8", /allowed_networks\[0\]: "10\.1\.2\.3\/8" has host bits set after \/8; write the network address \(10\.0\.0\.0\/8\)/],
    ["2001:db8::1/32", /host bits set after \/32; write the network address \(2001:db8::\/32\)/],
    ["::ffff:10.1.0.0/104", /host bits set after \/104; write the network address \(10\.0\.0\.0\/8\)/],
    ["fe80::1%eth0", /zone/],
    ["fe80::%eth0/64", /zone/],
    ["10.0.0.0/33", /prefix \/33; IPv4 prefixes go from 0 to 32/],
    ["2001:db8::/129", /prefix \/129; IPv6 prefixes go from 0 to 128/],
    ["10.0.0.0/", /no valid prefix/],
    ["10.0.0.0/08", /no valid prefix/],
    ["10.0.0.0/-1", /no valid prefix/],
    ["10.0.0.0/8/8", /no valid prefix/],
    ["10.0.0.0/ 8", /no valid prefix/],
    [" 10.0.0.0/8", /not an IPv4 or IPv6 network/],
    ["10.0.0.0/8 ", /no valid prefix/],
    ["010.0.0.0/8", /not a valid IPv4 address/],
    ["10.0.0/8", /not a valid IPv4 address/],
    ["256.0.0.0/8", /not a valid IPv4 address/],
    ["10.0.0.0.0/8", /not a valid IPv4 address/],
    ["2001:db8:::/32", /not a valid IPv6 address/],
    ["2001:db8::g/32", /not an IPv4 or IPv6 network/],
    ["1:2:3:4:5:6:7:8:9/128", /not a valid IPv6 address/],
    ["localhost", /not an IPv4 or IPv6 network/],
    ["", /not an IPv4 or IPv6 network/],
    ["0x0a000000/8", /not an IPv4 or IPv6 network/],
    ["::ffff:0:0/95", /host bits set after \/95; write the network address \(::fffe:0:0\/95\)/],
  ])("%j is refused", (input, reason) => {
    const result = parseAllowedNetworks([input]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.index).toBe(0);
    expect(result.reason).toMatch(/^allowed_networks\[0\]: /);
    expect(result.reason).toMatch(reason);
    expect(result.reason).not.toContain("\n");
  });

  it("names the index of the bad entry", () => {
    const result = parseAllowedNetworks(["10.0.0.0/8", "2001:db8::/32", "junk"]);
    expect(result).toMatchObject({ ok: false, index: 2 });
    expect(!result.ok && result.reason).toMatch(/^allowed_networks\[2\]: "junk"/);
  });

  it("refuses non-strings, an empty list and too many networks", () => {
    expect(parseAllowedNetworks([42])).toMatchObject({ ok: false, index: 0, reason: expect.stringMatching(/must be a string/) });
    expect(parseAllowedNetworks([])).toMatchObject({ ok: false, reason: expect.stringMatching(/at least one network; omit the field/) });
    const many = Array.from({ length: MAX_ALLOWED_NETWORKS + 1 }, (_, i) => `10.0.${i}.0/24`);
    expect(parseAllowedNetworks(many)).toMatchObject({ ok: false, reason: `allowed_networks: at most ${MAX_ALLOWED_NETWORKS} networks, got ${MAX_ALLOWED_NETWORKS + 1}.` });
  });

  it("never echoes more than a short sanitised part of the input", () => {
    const result = parseAllowedNetworks([`<script>${"9".repeat(200)}`]);
    expect(!result.ok && result.reason).not.toMatch(/<script>|9{49}/);
  });
});

describe("compileNetworks", () => {
  it("takes canonical networks only", () => {
    expect(() => compileNetworks(["10.0.0.0/8"])).not.toThrow();
    expect(() => compileNetworks(["10.0.0.1/8"])).toThrow(/not a canonical network/);
    expect(() => compileNetworks(["192.0.2.7"])).toThrow(/not a canonical network/);
    expect(() => compileNetworks(["2001:DB8::/32"])).toThrow(/not a canonical network/);
  });
});

describe("addressAllowed", () => {
  it.each([
    [["10.0.0.0/8"], "10.0.0.0", true],
    [["10.0.0.0/8"], "10.255.255.255", true],
    [["10.0.0.0/8"], "11.0.0.0", false],
    [["10.0.0.0/8"], "9.255.255.255", false],
    [["10.0.0.0/8"], "::ffff:10.1.2.3", true],
    [["10.0.0.0/8"], "::ffff:a01:203", true],
    [["10.0.0.0/8"], "::FFFF:10.1.2.3", true],
    [["10.0.0.0/8"], "::ffff:11.1.2.3", false],
    [["::ffff:10.0.0.0/104"], "10.9.9.9", true],
    [["192.0.2.7/32"], "192.0.2.7", true],
    [["192.0.2.7/32"], "192.0.2.8", false],
    [["0.0.0.0/0"], "203.0.113.9", true],
    [["0.0.0.0/0"], "2001:db8::1", false],
    [["::/0"], "2001:db8::1", true],
    [["::/0"], "203.0.113.9", false],
    [["::/0"], "::ffff:203.0.113.9", false],
    [["2001:db8::/32"], "2001:db8:ffff::1", true],
    [["2001:db8::/32"], "2001:0db8:0000::1", true],
    [["2001:db8::/32"], "2001:db9::1", false],
    [["2001:db8::1/128"], "2001:db8::1", true],
    [["2001:db8::1/128"], "2001:db8::2", false],
    [["fe80::/10"], "fe80::1%eth0", false],
    [["10.0.0.0/8"], "010.0.0.1", false],
    [["10.0.0.0/8"], "10.0.0.1 ", false],
    [["10.0.0.0/8"], "10.0.0.1, 192.0.2.1", false],
    [["10.0.0.0/8"], "", false],
    [["10.0.0.0/8"], undefined, false],
    [["10.0.0.0/8", "2001:db8::/32"], "2001:db8::5", true],
    [["10.0.0.0/8", "2001:db8::/32"], "10.0.0.5", true],
    [["10.0.0.0/8", "2001:db8::/32"], "192.0.2.5", false],
  ] as [string[], string | undefined, boolean][])("%j admits %j: %s", (networks, ip, expected) => {
    expect(allowed(networks, ip)).toBe(expected);
  });

  it("checkClientAddress refuses with 403 naming the canonical address", () => {
    const compiled = compileNetworks(canonical(["10.0.0.0/8"]));
    expect(checkClientAddress(compiled, "10.1.1.1")).toBeUndefined();
    expect(checkClientAddress(compiled, "::ffff:c000:207")).toEqual({
      ok: false,
      status: 403,
      code: "address_not_allowed",
      reason: "This token is not allowed from 192.0.2.7; use it from one of its allowed networks, or create a token that allows this address.",
    });
    expect(checkClientAddress(compiled, "2001:0db8::0001")?.reason).toMatch(/from 2001:db8::1;/);
    expect(checkClientAddress(compiled, "<junk>")?.reason).toMatch(/from an unknown address;/);
    expect(checkClientAddress(compiled, null)?.reason).toMatch(/from an unknown address;/);
  });
});

// ---- Properties against an independent statement of the rules --------------------------------

const ipv4Arb = fc.integer({ min: 0, max: 0xffffffff });
const ipv6Arb = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });

function v4Text(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}
/** Full, uncompressed IPv6 text: a spelling independent of the implementation's formatter. */
function v6Text(n: bigint): string {
  return Array.from({ length: 8 }, (_, i) => ((n >> BigInt(16 * (7 - i))) & 0xffffn).toString(16)).join(":");
}
function inV4(ip: number, base: number, prefix: number): boolean {
  return prefix === 0 || ip >>> (32 - prefix) === base >>> (32 - prefix);
}
function inV6(ip: bigint, base: bigint, prefix: number): boolean {
  return ip >> BigInt(128 - prefix) === base >> BigInt(128 - prefix);
}

describe("properties (fixed seeds)", () => {
  it("an IPv4 address is admitted exactly when its top prefix bits match, in both spellings", () => {
    fc.assert(
      fc.property(ipv4Arb, fc.integer({ min: 0, max: 32 }), ipv4Arb, (raw, prefix, ip) => {
        const base = prefix === 0 ? 0 : (raw & (0xffffffff << (32 - prefix))) >>> 0;
        const compiled = compileNetworks(canonical([`${v4Text(base)}/${prefix}`]));
        const expected = inV4(ip, base, prefix);
        expect(addressAllowed(compiled, v4Text(ip))).toBe(expected);
        expect(addressAllowed(compiled, `::ffff:${v4Text(ip)}`)).toBe(expected);
        expect(addressAllowed(compiled, v6Text((0xffffn << 32n) | BigInt(ip)))).toBe(expected);
      }),
      { seed: 1301, numRuns: 2000 },
    );
  });

  it("an IPv6 address is admitted exactly when its top prefix bits match", () => {
    fc.assert(
      fc.property(ipv6Arb, fc.integer({ min: 0, max: 128 }), ipv6Arb, fc.boolean(), (raw, prefix, other, near) => {
        const base = prefix === 0 ? 0n : (raw >> BigInt(128 - prefix)) << BigInt(128 - prefix);
        // Half the time, a client inside or just around the network.
        const ip = near ? base ^ (other & ((1n << BigInt(Math.min(128, 129 - prefix))) - 1n)) : other;
        const result = parseAllowedNetworks([`${v6Text(base)}/${prefix}`]);
        if (!result.ok) throw new Error(result.reason);
        const compiled = compileNetworks(result.networks);
        const mapped = ip >> 32n === 0xffffn;
        // An IPv4-mapped client is judged as IPv4: an IPv6 network admits it only if it was itself mapped.
        const networkMapped = prefix >= 96 && base >> 32n === 0xffffn;
        const expected = mapped ? networkMapped && inV6(ip, base, prefix) : !networkMapped && inV6(ip, base, prefix);
        expect(addressAllowed(compiled, v6Text(ip))).toBe(expected);
      }),
      { seed: 1302, numRuns: 2000 },
    );
  });

  it("canonical output parses to itself, and host bits are always refused", () => {
    fc.assert(
      fc.property(fc.oneof(ipv4Arb.map(v4Text), ipv6Arb.map(v6Text)), fc.integer({ min: 0, max: 128 }), (address, p) => {
        const prefix = address.includes(":") ? p : p % 33;
        const result = parseAllowedNetworks([`${address}/${prefix}`]);
        if (result.ok) {
          expect(parseAllowedNetworks(result.networks)).toEqual(result);
          expect(() => compileNetworks(result.networks)).not.toThrow();
        } else {
          expect(result.reason).toMatch(/host bits set/);
        }
      }),
      { seed: 1303, numRuns: 2000 },
    );
  });

  it("arbitrary text never throws and never yields a network that is not canonical", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), (text) => {
        const result = parseAllowedNetworks([text]);
        if (result.ok) expect(() => compileNetworks(result.networks)).not.toThrow();
        expect(typeof addressAllowed(compileNetworks(["0.0.0.0/0", "::/0"]), text)).toBe("boolean");
      }),
      { seed: 1304, numRuns: 3000 },
    );
  });
});

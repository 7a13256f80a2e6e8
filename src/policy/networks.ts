import { convertIPv4ToBinary, convertIPv6BinaryToString, convertIPv6ToBinary, isIPv4MappedIPv6 } from "hono/utils/ipaddr";
import { refuse, type Refusal } from "./types";

/**
 * Address allowlists (`allowed_networks`): validation and canonical form at token creation, and
 * the per-request check against the client address the edge vouches for (`CF-Connecting-IP`,
 * never `X-Forwarded-For` or anything else a client can set — that choice is the caller's).
 *
 * Decisions (docs/policy.md, "Label scope and address allowlists"):
 * - A network is `address/prefix`; a bare address means the host network (/32 or /128).
 * - Host bits set (`10.1.2.3/8`) are refused, not masked: the operator may have meant /32, and
 *   silently widening an allowlist is the wrong way to guess.
 * - IPv4-mapped IPv6 networks (`::ffff:10.0.0.0/104`) are stored as the IPv4 network
 *   (`10.0.0.0/8`), and an IPv4-mapped client address is checked as IPv4, so both spellings of
 *   an IPv4 client meet the same rules.
 * - IPv6 networks match IPv6 clients only; `::/0` does not admit IPv4 clients (add `0.0.0.0/0`).
 * - Zones (`fe80::1%eth0`), whitespace, leading zeros in IPv4 octets or in the prefix, and
 *   anything else that is not plain CIDR text are refused.
 * - At most MAX_ALLOWED_NETWORKS entries, at least one (omit the field to allow every address);
 *   duplicates after canonicalisation are dropped, order is kept.
 * Parsing of the addresses themselves is hono's (`hono/utils/ipaddr`), which rejects leading
 * zeros and out-of-range octets; only the prefix and the mapping rules are ours.
 */

export const MAX_ALLOWED_NETWORKS = 32;

export type NetworksResult =
  | { ok: true; networks: string[] }
  | {
      ok: false;
      /** Index of the offending entry, when one entry is at fault. */
      index?: number;
      /** One line naming the rule, starting with the field: `allowed_networks[2]: ...`. */
      reason: string;
    };

interface Parsed {
  version: 4 | 6;
  /** Network address as an unsigned integer (32 or 128 bits). */
  address: bigint;
  prefix: number;
}

const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/;
const IPV4_TEXT = /^[0-9.]+$/;
const IPV6_TEXT = /^[0-9A-Fa-f:.]+$/;

/**
 * Validate and canonicalise the `allowed_networks` of a new token. Answers the canonical
 * strings to store (`10.0.0.0/8`, `2001:db8::/32`) or a one-line reason naming the entry and rule.
 */
export function parseAllowedNetworks(input: readonly unknown[]): NetworksResult {
  if (input.length === 0) {
    return { ok: false, reason: "allowed_networks: must hold at least one network; omit the field to allow every address." };
  }
  if (input.length > MAX_ALLOWED_NETWORKS) {
    return { ok: false, reason: `allowed_networks: at most ${MAX_ALLOWED_NETWORKS} networks, got ${input.length}.` };
  }
  const seen = new Set<string>();
  const networks: string[] = [];
  for (const [index, entry] of input.entries()) {
    if (typeof entry !== "string") {
      return { ok: false, index, reason: `allowed_networks[${index}]: must be a string such as "10.0.0.0/8" or "2001:db8::/32".` };
    }
    const parsed = parseNetwork(entry);
    if (typeof parsed === "string") return { ok: false, index, reason: `allowed_networks[${index}]: ${parsed}` };
    const text = formatNetwork(parsed);
    if (!seen.has(text)) {
      seen.add(text);
      networks.push(text);
    }
  }
  return { ok: true, networks };
}

/** One network, or the rule it breaks (a sentence without the field name). */
function parseNetwork(entry: string): Parsed | string {
  const shown = show(entry);
  if (entry.includes("%")) return `${shown} carries a zone (%...); zones are not allowed in networks.`;
  const slash = entry.indexOf("/");
  const addressText = slash === -1 ? entry : entry.slice(0, slash);
  const prefixText = slash === -1 ? undefined : entry.slice(slash + 1);
  if (prefixText !== undefined && !PREFIX.test(prefixText)) {
    return `${shown} has no valid prefix length after "/": use decimal digits without leading zeros.`;
  }
  let version: 4 | 6;
  let address: bigint;
  try {
    if (IPV4_TEXT.test(addressText)) {
      version = 4;
      address = convertIPv4ToBinary(addressText);
    } else if (addressText.includes(":") && IPV6_TEXT.test(addressText)) {
      version = 6;
      address = convertIPv6ToBinary(addressText);
    } else {
      return `${shown} is not an IPv4 or IPv6 network in CIDR notation (e.g. 10.0.0.0/8, 2001:db8::/32).`;
    }
  } catch {
    return `${shown} is not a valid IPv${IPV4_TEXT.test(addressText) ? 4 : 6} address: check each part (IPv4 octets 0..255 without leading zeros).`;
  }
  const bits = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return `${shown} has prefix /${prefix}; IPv${version} prefixes go from 0 to ${bits}.`;
  if ((address & hostMask(bits, prefix)) !== 0n) {
    const network = formatNetwork(unmapped({ version, address: address & ~hostMask(bits, prefix), prefix }));
    return `${shown} has host bits set after /${prefix}; write the network address (${network}) or a longer prefix.`;
  }
  return unmapped({ version, address, prefix });
}

/**
 * An IPv4-mapped IPv6 network (`::ffff:0:0/96` and longer) as the IPv4 network it is. Shorter
 * prefixes cannot be mapped networks: the `ffff` marker would be host bits, refused above.
 */
function unmapped(network: Parsed): Parsed {
  const { version, address, prefix } = network;
  if (version === 6 && prefix >= 96 && isIPv4MappedIPv6(address)) return { version: 4, address: address & 0xffffffffn, prefix: prefix - 96 };
  return network;
}

function hostMask(bits: number, prefix: number): bigint {
  return (1n << BigInt(bits - prefix)) - 1n;
}

function formatNetwork({ version, address, prefix }: Parsed): string {
  const text = version === 4 ? ipv4ToString(address) : convertIPv6BinaryToString(address);
  return `${text}/${prefix}`;
}

function ipv4ToString(address: bigint): string {
  const n = Number(address);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Echo at most 48 characters of what was sent, with anything unusual replaced. */
function show(text: string): string {
  const safe = text.replace(/[^0-9A-Za-z.:/%]/g, "?");
  return `"${safe.length > 48 ? `${safe.slice(0, 48)}...` : safe}"`;
}

// ---------------------------------------------------------------------------------------------
// Per-request check

/** Networks ready for matching: IPv4 as 32-bit numbers, IPv6 as 128-bit bigints. */
export interface CompiledNetworks {
  readonly v4: readonly { base: number; mask: number }[];
  readonly v6: readonly { base: bigint; mask: bigint }[];
}

/**
 * Compile canonical networks (what parseAllowedNetworks answered, as stored in the token record).
 * Throws on anything else: a stored record that does not parse is a bug, not a client error.
 */
export function compileNetworks(canonical: readonly string[]): CompiledNetworks {
  const v4: { base: number; mask: number }[] = [];
  const v6: { base: bigint; mask: bigint }[] = [];
  for (const text of canonical) {
    const parsed = parseNetwork(text);
    if (typeof parsed === "string" || formatNetwork(parsed) !== text) {
      throw new Error(`compileNetworks: not a canonical network: ${show(text)}`);
    }
    if (parsed.version === 4) {
      const mask = parsed.prefix === 0 ? 0 : (0xffffffff << (32 - parsed.prefix)) >>> 0;
      v4.push({ base: Number(parsed.address), mask });
    } else {
      v6.push({ base: parsed.address, mask: ((1n << 128n) - 1n) ^ hostMask(128, parsed.prefix) });
    }
  }
  return { v4, v6 };
}

/** A client address as the matcher sees it: IPv4-mapped IPv6 becomes IPv4. */
type ClientAddress = { version: 4; value: number } | { version: 6; value: bigint };

/** Parse a client address (CF-Connecting-IP); undefined when absent or not a plain IP address. */
function parseClientAddress(ip: string | null | undefined): ClientAddress | undefined {
  if (!ip || ip.length > 45) return undefined;
  try {
    if (IPV4_TEXT.test(ip)) return { version: 4, value: Number(convertIPv4ToBinary(ip)) };
    if (!ip.includes(":") || !IPV6_TEXT.test(ip)) return undefined;
    const value = convertIPv6ToBinary(ip);
    if (isIPv4MappedIPv6(value)) return { version: 4, value: Number(value & 0xffffffffn) };
    return { version: 6, value };
  } catch {
    return undefined;
  }
}

/** Is this client address inside one of the networks? A missing or unparseable address never is. */
export function addressAllowed(compiled: CompiledNetworks, ip: string | null | undefined): boolean {
  const client = parseClientAddress(ip);
  if (!client) return false;
  if (client.version === 4) {
    const value = client.value;
    return compiled.v4.some((n) => ((value & n.mask) >>> 0) === n.base);
  }
  const value = client.value;
  return compiled.v6.some((n) => (value & n.mask) === n.base);
}

/**
 * The data-path decision: undefined when allowed, else a 403 refusal naming the address (in its
 * canonical form; an unparseable header is not echoed).
 */
export function checkClientAddress(compiled: CompiledNetworks, ip: string | null | undefined): Refusal | undefined {
  if (addressAllowed(compiled, ip)) return undefined;
  const client = parseClientAddress(ip);
  const shown = !client ? "an unknown address" : client.version === 4 ? ipv4ToString(BigInt(client.value)) : convertIPv6BinaryToString(client.value);
  return refuse(403, "address_not_allowed", `This token is not allowed from ${shown}; use it from one of its allowed networks, or create a token that allows this address.`);
}

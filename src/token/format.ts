/**
 * Secrets follow the GitHub token-format idea: a fixed prefix that secret scanners can match,
 * a random body, and a checksum so a typo or a made-up value is refused before any I/O.
 *
 *   vmat_<44 base62 chars = 261 bits of entropy><6 base62 chars = CRC32 of prefix+body>
 */
export const ACCESS_TOKEN_PREFIX = "vmat_";
export const API_KEY_PREFIX = "vmak_";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BODY_LENGTH = 44;
const CHECKSUM_LENGTH = 6;
const SECRET_LENGTH = ACCESS_TOKEN_PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH;
const BASE62 = /^[0-9A-Za-z]+$/;

function randomBase62(length: number): string {
  let out = "";
  const bytes = new Uint8Array(length * 2);
  while (out.length < length) {
    crypto.getRandomValues(bytes);
    for (const b of bytes) {
      // 248 = 4 * 62: rejecting larger bytes keeps every character equally likely.
      if (b < 248 && out.length < length) out += ALPHABET[b % 62];
    }
  }
  return out;
}

// CRC-32 (IEEE), as in zlib. Written out because it is eight lines and the Worker then needs no
// Node compatibility layer; test/unit/token-format.test.ts checks it against zlib.
const CRC_TABLE = Array.from({ length: 256 }, (_, i) => {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function checksum(text: string): string {
  let n = crc32(text);
  let out = "";
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** A new secret with the given prefix (an access token by default). */
export function generateSecret(prefix: string = ACCESS_TOKEN_PREFIX): string {
  const head = prefix + randomBase62(BODY_LENGTH);
  return head + checksum(head);
}

/** True when `value` has the prefix, length, alphabet and checksum of a secret we issued. */
export function isWellFormedSecret(value: string, prefix: string = ACCESS_TOKEN_PREFIX): boolean {
  if (value.length !== SECRET_LENGTH || !value.startsWith(prefix)) return false;
  const rest = value.slice(prefix.length);
  if (!BASE62.test(rest)) return false;
  const head = value.slice(0, SECRET_LENGTH - CHECKSUM_LENGTH);
  return checksum(head) === value.slice(SECRET_LENGTH - CHECKSUM_LENGTH);
}

/**
 * What a list may show of a secret: its last four characters (VictoriaMetrics Cloud clients
 * expect four). The first ones are the prefix,
 * the same for every token; the last ones differ, so a list tells tokens apart. They are part of
 * the checksum, derived from the random body: showing them leaves the 261 random bits unknown.
 */
export function maskSecret(value: string): string {
  return value.slice(-4);
}

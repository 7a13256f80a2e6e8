/**
 * Hashing for lookup and AES-GCM for the revealable copy. Both use WebCrypto, which the
 * Workers runtime and Node share, so the same code is unit-tested in Node and runs at the edge.
 */

import { timingSafeEqual } from "hono/utils/buffer";
import { decodeBase64, encodeBase64 } from "hono/utils/encode";

const encoder = new TextEncoder();

function toHex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 of a secret, lowercase hex: the only form in which a secret is looked up. */
export async function hashSecret(secret: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(secret)));
}

/** The raw bytes of TOKEN_ENCRYPTION_KEY, or null when it is not base64 of exactly 32 bytes. */
export function encryptionKeyBytes(base64Key: string | undefined): Uint8Array<ArrayBuffer> | null {
  if (!base64Key) return null;
  try {
    const raw = decodeBase64(base64Key);
    return raw.length === 32 ? raw : null;
  } catch {
    return null; // not base64
  }
}

const keyCache = new Map<string, Promise<CryptoKey>>();

function importKey(base64Key: string): Promise<CryptoKey> {
  let key = keyCache.get(base64Key);
  if (!key) {
    const raw = encryptionKeyBytes(base64Key);
    if (!raw) throw new Error("TOKEN_ENCRYPTION_KEY must be 32 bytes, base64-encoded");
    key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    keyCache.set(base64Key, key);
  }
  return key;
}

/**
 * Encrypts a secret as `v1:<iv>:<ciphertext>` (base64). The row id is bound as additional
 * data, so a ciphertext copied onto another row does not decrypt.
 */
export async function encryptSecret(base64Key: string, secret: string, rowId: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(rowId) },
    await importKey(base64Key),
    encoder.encode(secret),
  );
  return `v1:${encodeBase64(iv.buffer)}:${encodeBase64(sealed)}`;
}

export async function decryptSecret(base64Key: string, sealed: string, rowId: string): Promise<string> {
  const [version, iv, data] = sealed.split(":");
  if (version !== "v1" || !iv || !data) throw new Error("unknown sealed secret format");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: decodeBase64(iv), additionalData: encoder.encode(rowId) },
    await importKey(base64Key),
    decodeBase64(data),
  );
  return new TextDecoder().decode(plain);
}

/**
 * Compares two secrets without leaking where they differ or how long the expected one is: both
 * are hashed first, and Hono's constant-time compare runs over the two 64-character digests.
 * (Hono's compare of the raw strings would also walk the longer one: timing would tell the length.)
 */
export async function timingSafeEqualText(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([hashSecret(a), hashSecret(b)]);
  return timingSafeEqual(x, y);
}

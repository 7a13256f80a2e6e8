/**
 * Hashing for lookup and AES-GCM for the revealable copy. Both use WebCrypto, which the
 * Workers runtime and Node share, so the same code is unit-tested in Node and runs at the edge.
 */

const encoder = new TextEncoder();

function toHex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** SHA-256 of a secret, lowercase hex: the only form in which a secret is looked up. */
export async function hashSecret(secret: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(secret)));
}

const keyCache = new Map<string, Promise<CryptoKey>>();

function importKey(base64Key: string): Promise<CryptoKey> {
  let key = keyCache.get(base64Key);
  if (!key) {
    const raw = fromBase64(base64Key);
    if (raw.length !== 32) throw new Error("TOKEN_ENCRYPTION_KEY must be 32 bytes, base64-encoded");
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
  return `v1:${toBase64(iv)}:${toBase64(new Uint8Array(sealed))}`;
}

export async function decryptSecret(base64Key: string, sealed: string, rowId: string): Promise<string> {
  const [version, iv, data] = sealed.split(":");
  if (version !== "v1" || !iv || !data) throw new Error("unknown sealed secret format");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64(iv), additionalData: encoder.encode(rowId) },
    await importKey(base64Key),
    fromBase64(data),
  );
  return new TextDecoder().decode(plain);
}

/**
 * Compares two secrets without leaking where they differ or how long the expected one is: both
 * are hashed first, so the comparison always runs over 32 bytes.
 */
export async function timingSafeEqualText(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([a, b].map((v) => crypto.subtle.digest("SHA-256", encoder.encode(v))));
  const xs = new Uint8Array(x!);
  const ys = new Uint8Array(y!);
  let diff = 0;
  for (let i = 0; i < xs.length; i++) diff |= xs[i]! ^ ys[i]!;
  return diff === 0;
}

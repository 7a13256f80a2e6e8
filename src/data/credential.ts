import { unauthorized } from "../errors";
import { ACCESS_TOKEN_PREFIX, isWellFormedSecret } from "../token/format";

/** Longest Authorization header worth parsing; ours are ~62 characters, Basic adds a little. */
const MAX_AUTHORIZATION_LENGTH = 512;

/**
 * Step 1 and 2 of the data path: read the secret from `Authorization: Bearer <secret>` or from
 * HTTP Basic (password, or user name when the password is empty — Telegraf's influx output and
 * older Grafana set-ups can only send Basic), then check its shape before any I/O.
 */
export function readSecret(headers: Headers): string {
  const header = headers.get("authorization");
  if (!header) {
    throw unauthorized("No access token: send it as 'Authorization: Bearer <token>'.");
  }
  if (header.length > MAX_AUTHORIZATION_LENGTH) {
    throw unauthorized("Malformed Authorization header: it is too long to hold an access token.");
  }
  const secret = extractSecret(header);
  if (!secret || !isWellFormedSecret(secret)) {
    throw unauthorized(`Malformed access token: expected 'Bearer ${ACCESS_TOKEN_PREFIX}...' as issued by the management API.`);
  }
  return secret;
}

function extractSecret(header: string): string | undefined {
  const space = header.indexOf(" ");
  if (space < 0) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === "bearer") return value;
  if (scheme === "basic") return fromBasic(value);
  return undefined;
}

function fromBasic(encoded: string): string | undefined {
  let decoded: string;
  try {
    decoded = atob(encoded);
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return decoded;
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  return password || user;
}

/** Credentials remembered at most; beyond, the longest-remembered is forgotten first. */
const MAX_KNOWN_CREDENTIALS = 1_000;

/**
 * Authorization header → SHA-256 of its secret, for headers that named a valid token in this
 * isolate: an agent sends the same header with every request, and parsing, checksumming and
 * hashing it again each time cost more than the rest of authentication. Isolate memory only,
 * bounded; the hash is a pure function of the header, so an entry can never be wrong — whether
 * the token is still valid is decided by the lookup each time, as before.
 */
const knownCredentials = new Map<string, string>();

export function knownSecretHash(header: string): string | undefined {
  return knownCredentials.get(header);
}

export function rememberCredential(header: string, secretHash: string): void {
  if (knownCredentials.size >= MAX_KNOWN_CREDENTIALS) {
    const oldest = knownCredentials.keys().next().value;
    if (oldest !== undefined) knownCredentials.delete(oldest);
  }
  knownCredentials.set(header, secretHash);
}

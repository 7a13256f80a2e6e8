import { HttpError, unknownToken } from "../errors";
import { TokenRecord } from "../store/token-record";
import { refuseIfExpired } from "./decision";
import { loadTokenByHash, tokenKvKey } from "../store/token-projection";

/**
 * Step 3 of the data path: find the token by the hash of its secret.
 * Isolate memory (bounded, short TTL) → KV projection → D1 on a KV miss, so a token works the
 * moment it is created. Unknown hashes are cached negatively so a flood of made-up tokens costs
 * one KV read and one D1 query per distinct value, then nothing. A revoked token's secret is cached
 * the same way, with its record aside for counting its refusals (never for authorizing).
 *
 * Revocation does not wait for these caches: the token's Durable Object refuses a revoked token
 * at its next check-in (see docs/limiter.md), and `forgetTokenRecord` clears this isolate at once.
 */
const MAX_ENTRIES = 10_000;
const POSITIVE_TTL_MS = 30_000;
const NEGATIVE_TTL_MS = 60_000;

/**
 * What a lookup found: the usable (or expired) token's record, or none. `revoked` is a revoked
 * token's record, kept only so its refusal can be counted for it (docs/usage.md); it never
 * authorizes anything and is refused exactly like an unknown secret.
 */
interface Found {
  record: TokenRecord | null;
  revoked?: TokenRecord;
}

interface Entry extends Found {
  expiresAt: number;
}

const cache = new Map<string, Entry>();
const inFlight = new Map<string, Promise<Found>>();

/**
 * The usable token whose secret hashes to `secretHash`; 401 when there is none. When the secret
 * names a token that is refused (revoked, expired), its record is put in `refused.record` before
 * the 401 is thrown, so the refusal is counted for that token (data/usage.ts).
 */
export async function lookupToken(env: Env, secretHash: string, refused?: { record: TokenRecord | undefined }): Promise<TokenRecord> {
  const { record, revoked } = await findRecord(env, secretHash);
  if (!record) {
    if (revoked && refused) refused.record = revoked;
    throw unknownToken();
  }
  try {
    refuseIfExpired(record, Date.now());
  } catch (err) {
    if (refused) refused.record = record;
    throw err;
  }
  return record;
}

async function findRecord(env: Env, secretHash: string): Promise<Found> {
  const now = Date.now();
  const hit = cache.get(secretHash);
  if (hit && hit.expiresAt > now) return hit;

  const shared = inFlight.get(secretHash);
  if (shared) return joinLookup(shared, env, secretHash);
  const pending: Promise<Found> = readThrough(env, secretHash).finally(() => {
    if (inFlight.get(secretHash) === pending) inFlight.delete(secretHash);
  });
  inFlight.set(secretHash, pending);
  return pending;
}

/** How long a request waits on another request's lookup before it reads through itself. */
const JOIN_WAIT_MS = 250;

/**
 * Waits for the lookup another request started, but never on it alone. A request whose only
 * pending work is a promise that another request's I/O settles can be cancelled by the runtime as
 * hung ("code had hung and would never generate a response": a 500), and is cancelled for good if
 * that other request ends first. scripts/hardening-flood.ts showed it: under load a valid token got
 * such 500s every 30 s, when its entry expired while several of its requests were in flight. A
 * timer of this request's own keeps it alive, and if the shared lookup has not settled by then,
 * it reads through itself.
 */
async function joinLookup(shared: Promise<Found>, env: Env, secretHash: string): Promise<Found> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const own = new Promise<Found>((resolve, reject) => {
    timer = setTimeout(() => readThrough(env, secretHash).then(resolve, reject), JOIN_WAIT_MS);
  });
  own.catch(() => undefined); // settled by the race below, or abandoned once the shared lookup wins
  try {
    return await Promise.race([shared, own]);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

async function readThrough(env: Env, secretHash: string): Promise<Found> {
  let found: Found;
  try {
    const fromKv = await env.TOKENS_KV.get(tokenKvKey(secretHash), "json");
    const parsed = fromKv === null ? null : TokenRecord.safeParse(fromKv);
    found = parsed?.success ? { record: parsed.data } : fromD1(await loadTokenByHash(env.DB, secretHash));
  } catch (err) {
    // Our storage failing is no fault of the client: 503, which agents retry, and nothing cached.
    console.error(JSON.stringify({ level: "error", msg: "token lookup failed", error: String(err) }));
    throw new HttpError(503, "storage_unavailable", "Token storage is unavailable: retry later.", { "retry-after": "1" });
  }
  remember(secretHash, found);
  return found;
}

function fromD1(row: { record: TokenRecord; revoked: boolean } | null): Found {
  if (row === null) return { record: null };
  return row.revoked ? { record: null, revoked: row.record } : { record: row.record };
}

function remember(secretHash: string, found: Found): void {
  cache.delete(secretHash); // re-inserted last: Map order is oldest first
  if (cache.size >= MAX_ENTRIES) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(secretHash, { ...found, expiresAt: Date.now() + (found.record ? POSITIVE_TTL_MS : NEGATIVE_TTL_MS) });
}

/**
 * True when this isolate has seen the token valid and has not since learnt otherwise — even past
 * the entry's TTL (the entry is then re-read on lookup). The failed-authentication throttle lets
 * such a credential through, so a valid agent is never throttled for its neighbours' failures.
 */
export function isKnownValidToken(secretHash: string): boolean {
  const entry = cache.get(secretHash);
  return entry?.record != null && (entry.record.expires_at === undefined || entry.record.expires_at > Date.now());
}

/** Drops a token from this isolate's cache (after a revoke or a deployment change). */
export function forgetTokenRecord(secretHash: string): void {
  cache.delete(secretHash);
}

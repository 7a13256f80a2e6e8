import { TokenRecord } from "./token-record";

/**
 * The KV projection of access tokens: `token:<sha256 hex>` → TokenRecord JSON, and the D1 query
 * the data path falls back to on a KV miss. D1 is the source of truth: projections are written
 * after D1 commits, deleted on revoke, and rewritten when a deployment's routing or tier changes.
 * The key is built here only; the data path reads it (src/data/lookup.ts), src/tokens writes it.
 */

/** KV key of a token's projection. */
export function tokenKvKey(secretHash: string): string {
  return `token:${secretHash}`;
}

/** One row of the token ⋈ deployment ⋈ tier join, before it becomes a TokenRecord. */
export interface ProjectionRow {
  token_id: string;
  access: TokenRecord["access"];
  tenant_id: string | null;
  expires_at: number | null;
  /** JSON text in D1 (a row of the join), or the decoded value (a row in hand). */
  allowed_networks: string | readonly string[] | null;
  labels: string | Readonly<Record<string, string>> | null;
  deployment_id: string;
  deployment_type: TokenRecord["deployment_type"];
  upstream_url: string | null;
  insert_url: string | null;
  select_url: string | null;
  concurrency: number;
  /** The tier's wait for a permit, ms; null: the Worker's default. */
  max_wait_ms: number | null;
}

const SELECT = `SELECT t.id AS token_id, t.type AS access, t.tenant_id, t.expires_at, t.allowed_networks, t.labels, t.secret_hash, t.revoked_at,
    d.id AS deployment_id, d.type AS deployment_type, d.upstream_url, d.insert_url, d.select_url,
    tr.access_token_concurrent_requests AS concurrency, tr.access_token_max_wait_ms AS max_wait_ms
  FROM access_tokens t
  JOIN deployments d ON d.id = t.deployment_id
  JOIN tiers tr ON tr.id = d.tier_id`;
const JOIN = `${SELECT}
  WHERE t.revoked_at IS NULL AND d.deleted_at IS NULL`;
/** Only tokens that have not expired at ?2: the ones worth a projection. */
const UNEXPIRED = "(t.expires_at IS NULL OR t.expires_at > ?2)";

function fromJson<T>(value: string | T): T {
  return typeof value === "string" ? (JSON.parse(value) as T) : value;
}

/** Builds the record from a joined row; absent optional fields are left out, not null. */
export function toTokenRecord(row: ProjectionRow): TokenRecord {
  const record: TokenRecord = {
    v: 1,
    token_id: row.token_id,
    deployment_id: row.deployment_id,
    deployment_type: row.deployment_type,
    access: row.access,
    concurrency: row.concurrency,
  };
  if (row.tenant_id !== null) record.tenant_id = row.tenant_id;
  if (row.upstream_url !== null) record.upstream_url = row.upstream_url;
  if (row.insert_url !== null) record.insert_url = row.insert_url;
  if (row.select_url !== null) record.select_url = row.select_url;
  if (row.expires_at !== null) record.expires_at = row.expires_at;
  if (row.allowed_networks !== null) record.allowed_networks = [...fromJson<readonly string[]>(row.allowed_networks)];
  if (row.max_wait_ms !== null) record.max_wait_ms = row.max_wait_ms;
  if (row.labels !== null) record.labels = { ...fromJson<Readonly<Record<string, string>>>(row.labels) };
  return TokenRecord.parse(record);
}

/**
 * The usable token's record for a secret hash, or null when no such token exists, or it is
 * revoked, or its deployment is deleted (the data path's fallback, `loadTokenByHash`, also sees
 * revoked ones, to count their refusals). One indexed query. An expired token's record is
 * returned with its past `expires_at`, so the data path refuses it as expired (401
 * `expired_token`), not as unknown, also once its KV projection has expired.
 */
export async function loadTokenRecord(db: D1Database, secretHash: string): Promise<TokenRecord | null> {
  const found = await loadTokenByHash(db, secretHash);
  return found && !found.revoked ? found.record : null;
}

/**
 * The same single indexed query, revoked tokens included: the data path refuses a revoked token
 * exactly as an unknown one (401 `unauthorized`, its record is never used to authorize), but
 * counts the refusal for the token's owner (docs/usage.md). Null when no token of a live
 * deployment has this hash.
 */
export async function loadTokenByHash(db: D1Database, secretHash: string): Promise<{ record: TokenRecord; revoked: boolean } | null> {
  const row = await db
    .prepare(`${SELECT} WHERE t.secret_hash = ?1 AND d.deleted_at IS NULL`)
    .bind(secretHash)
    .first<ProjectionRow & { revoked_at: number | null }>();
  if (!row) return null;
  if (row.revoked_at === null) return { record: toTokenRecord(row), revoked: false };
  try {
    return { record: toTokenRecord(row), revoked: true };
  } catch {
    return null; // a revoked row that no longer makes a record is refused as unknown, never a 503
  }
}

/** Records of every usable token of a deployment, keyed by secret hash (to rewrite projections). */
export async function loadDeploymentTokenRecords(
  db: D1Database,
  deploymentId: string,
): Promise<{ secretHash: string; record: TokenRecord }[]> {
  const { results } = await db
    .prepare(`${JOIN} AND ${UNEXPIRED} AND t.deployment_id = ?1`)
    .bind(deploymentId, Date.now())
    .all<ProjectionRow & { secret_hash: string }>();
  return results.map((row) => ({ secretHash: row.secret_hash, record: toTokenRecord(row) }));
}

// KV refuses an absolute expiration less than 60 s ahead, and one past a signed 32-bit second
// (2038-01-19). A later expiry is kept in the record (the data path refuses by it) with no KV TTL.
const KV_MIN_TTL_SECONDS = 60;
const KV_MAX_EXPIRATION = 2 ** 31 - 1;

/** Writes (or overwrites) a token's projection. A token with an expiry also expires from KV. */
export async function putTokenProjection(kv: KVNamespace, secretHash: string, record: TokenRecord): Promise<void> {
  const options: KVNamespacePutOptions = {};
  if (record.expires_at !== undefined) {
    const expiration = Math.floor(record.expires_at / 1000);
    // Too close to expiry to be worth caching: the data path reads D1, which refuses it soon.
    // A projection already there (a rotated token's) must not outlive the new expiry: drop it.
    if (expiration - Date.now() / 1000 < KV_MIN_TTL_SECONDS) return deleteTokenProjection(kv, secretHash);
    if (expiration <= KV_MAX_EXPIRATION) options.expiration = expiration;
  }
  await kv.put(tokenKvKey(secretHash), JSON.stringify(record), options);
}

export async function deleteTokenProjection(kv: KVNamespace, secretHash: string): Promise<void> {
  await kv.delete(tokenKvKey(secretHash));
}

import type { ApiKeyAccess } from "../tokens/vocabulary";

/**
 * Rows of `api_keys`: management API keys other than the bootstrap key (the Worker secret
 * ADMIN_API_KEY, which has no row). A key is stored only as the SHA-256 of its secret; it cannot
 * be revealed again. Revoking marks `revoked_at`; rows are never deleted.
 */

export interface ApiKeyRow {
  id: string;
  name: string;
  key_hash: string;
  access: ApiKeyAccess;
  /** JSON array of deployment ids, or null for all deployments, future ones included. */
  deployment_ids: string | null;
  expires_at: number | null;
  revoked_at: number | null;
  created_at: number;
  created_by: string;
}

/** What the API shows: no hash. */
export type ApiKeySummary = Omit<ApiKeyRow, "key_hash">;

/** Keyset position in the list order (created_at, id). */
export interface ApiKeyPosition {
  created_at: number;
  id: string;
}

const SUMMARY_COLUMNS = "id, name, access, deployment_ids, expires_at, revoked_at, created_at, created_by";

/** The key whose secret hashes to `keyHash`, revoked or expired ones included (the caller decides). */
export async function findApiKeyByHash(db: D1Database, keyHash: string): Promise<ApiKeyRow | null> {
  return db.prepare("SELECT * FROM api_keys WHERE key_hash = ?1").bind(keyHash).first<ApiKeyRow>();
}

export async function getApiKey(db: D1Database, id: string): Promise<ApiKeySummary | null> {
  return db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM api_keys WHERE id = ?1`).bind(id).first<ApiKeySummary>();
}

/** Keys not revoked (expired ones included), oldest first, after `after` when given. */
export async function listApiKeys(db: D1Database, page: { after?: ApiKeyPosition; limit?: number }): Promise<ApiKeySummary[]> {
  const { after, limit } = page;
  const { results } = await db
    .prepare(
      `SELECT ${SUMMARY_COLUMNS} FROM api_keys
       WHERE revoked_at IS NULL AND (?1 IS NULL OR (created_at, id) > (?1, ?2))
       ORDER BY created_at, id LIMIT ?3`,
    )
    .bind(after?.created_at ?? null, after?.id ?? null, limit ?? -1)
    .all<ApiKeySummary>();
  return results;
}

export function insertApiKey(db: D1Database, key: ApiKeyRow): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO api_keys (id, name, key_hash, access, deployment_ids, expires_at, revoked_at, created_at, created_by)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`,
    )
    .bind(key.id, key.name, key.key_hash, key.access, key.deployment_ids, key.expires_at, key.revoked_at, key.created_at, key.created_by);
}

/** Marks a key revoked; RETURNING lists it only if this statement revoked it. */
export function revokeApiKey(db: D1Database, id: string, at: number): D1PreparedStatement {
  return db.prepare("UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL RETURNING id").bind(id, at);
}

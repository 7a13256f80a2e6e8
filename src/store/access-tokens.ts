import type { AccessLevel } from "../tokens/vocabulary";

/**
 * Rows of `access_tokens`. A secret is stored only as its SHA-256 (`secret_hash`, the lookup key)
 * and as AES-GCM ciphertext bound to the row id (`secret_sealed`, for reveal). Revoking marks
 * `revoked_at`; rotating brings `expires_at` forward; rows are never deleted, and never updated
 * otherwise except `last_used_at` (written by the token's Durable Object).
 * `allowed_networks` and `labels` are JSON text in D1 and decoded here, so callers see values.
 */

export interface AccessTokenRow {
  id: string;
  deployment_id: string;
  secret_hash: string;
  secret_sealed: string;
  type: AccessLevel;
  description: string;
  tenant_id: string | null;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  /** Canonical CIDRs the token may be used from; null: every address. */
  allowed_networks: string[] | null;
  /** Labels every sample written carries and every read is restricted to; null: no label scope. */
  labels: Record<string, string> | null;
}

/** The row as D1 holds it: the policy columns as JSON text. */
type StoredRow<T> = Omit<T, "allowed_networks" | "labels"> & { allowed_networks: string | null; labels: string | null };

function decoded<T extends { allowed_networks: string | null; labels: string | null }>(row: T): Omit<T, "allowed_networks" | "labels"> & Pick<AccessTokenRow, "allowed_networks" | "labels"> {
  return {
    ...row,
    allowed_networks: row.allowed_networks === null ? null : (JSON.parse(row.allowed_networks) as string[]),
    labels: row.labels === null ? null : (JSON.parse(row.labels) as Record<string, string>),
  };
}

/** What a list shows: no hash, no ciphertext. */
export type AccessTokenSummary = Omit<AccessTokenRow, "secret_hash" | "secret_sealed">;

/** A listed token with its sealed secret, from which the list's masked value is taken. */
export type ListedAccessToken = AccessTokenSummary & Pick<AccessTokenRow, "secret_sealed">;

/** The two things needed to clean up after a revocation: the DO name and the KV key. */
export interface TokenRef {
  id: string;
  secret_hash: string;
}

const SUMMARY_COLUMNS =
  "id, deployment_id, type, description, tenant_id, created_by, created_at, expires_at, revoked_at, last_used_at, allowed_networks, labels";

const INSERT = `INSERT INTO access_tokens
  (id, deployment_id, secret_hash, secret_sealed, type, description, tenant_id, created_by, created_at, expires_at, allowed_networks, labels)`;

function values(t: AccessTokenRow): unknown[] {
  return [
    t.id, t.deployment_id, t.secret_hash, t.secret_sealed, t.type, t.description, t.tenant_id, t.created_by, t.created_at, t.expires_at,
    t.allowed_networks === null ? null : JSON.stringify(t.allowed_networks),
    t.labels === null ? null : JSON.stringify(t.labels),
  ];
}

/** Live at `?9` (the creation time): not revoked and not expired. */
const LIVE_AT_CREATION = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?9)";
/** The deployment's cap, or no row when the deployment is deleted. */
const CAP = `(SELECT t.access_token_limit FROM deployments d JOIN tiers t ON t.id = d.tier_id WHERE d.id = ?2 AND d.deleted_at IS NULL)`;

/**
 * Inserts the token only while its deployment is live and has fewer live tokens than its tier's
 * `access_token_limit`. Count and insert are one statement, so concurrent creates cannot overshoot
 * the cap (D1 runs statements one at a time). `meta.changes` is 0 when refused. A deployment's
 * default token goes the same way, in the batch that inserts the deployment.
 */
export function insertAccessTokenWithinLimit(db: D1Database, token: AccessTokenRow): D1PreparedStatement {
  return db
    .prepare(
      `${INSERT} SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12
       WHERE (SELECT count(*) FROM access_tokens WHERE deployment_id = ?2 AND ${LIVE_AT_CREATION}) < ${CAP}`,
    )
    .bind(...values(token));
}

/**
 * Inserts the successor of a rotated token, in the batch that then shortens the predecessor's
 * expiry (`shortenExpiry`). Only while the predecessor is still live at `token.created_at` (a
 * concurrent revoke or expiry wins) and within the cap, where the predecessor counts only if it
 * stays alive after the rotation (`predecessorExpiresAt` later than now): the pair takes two
 * places only while both are alive. `meta.changes` is 0 when refused.
 */
export function insertSuccessorWithinLimit(db: D1Database, token: AccessTokenRow, predecessorId: string, predecessorExpiresAt: number): D1PreparedStatement {
  return db
    .prepare(
      `${INSERT} SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12
       WHERE EXISTS (SELECT 1 FROM access_tokens WHERE id = ?13 AND deployment_id = ?2 AND ${LIVE_AT_CREATION})
         AND (SELECT count(*) FROM access_tokens WHERE deployment_id = ?2 AND ${LIVE_AT_CREATION} AND (id <> ?13 OR ?14 > ?9)) < ${CAP}`,
    )
    .bind(...values(token), predecessorId, predecessorExpiresAt);
}

/**
 * Brings a rotated token's expiry forward to `at` (never later than an expiry it had), only if
 * its successor was inserted; RETURNING lists it (with its new expiry) only then.
 */
export function shortenExpiry(db: D1Database, tokenId: string, successorId: string, at: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE access_tokens SET expires_at = min(coalesce(expires_at, ?3), ?3)
       WHERE id = ?1 AND EXISTS (SELECT 1 FROM access_tokens WHERE id = ?2)
       RETURNING id, secret_hash, expires_at`,
    )
    .bind(tokenId, successorId, at);
}

/** Keyset position in the list order (created_at, id). */
export interface AccessTokenPosition {
  created_at: number;
  id: string;
}

/** Tokens of a deployment that are not revoked (expired ones included), oldest first, paged by `after` and `limit`. */
export async function listAccessTokens(
  db: D1Database,
  deploymentId: string,
  page: { after?: AccessTokenPosition; limit?: number } = {},
): Promise<ListedAccessToken[]> {
  const { results } = await db
    .prepare(
      `SELECT ${SUMMARY_COLUMNS}, secret_sealed FROM access_tokens
       WHERE deployment_id = ?1 AND revoked_at IS NULL AND (?2 IS NULL OR (created_at, id) > (?2, ?3))
       ORDER BY created_at, id LIMIT ?4`,
    )
    .bind(deploymentId, page.after?.created_at ?? null, page.after?.id ?? null, page.limit ?? -1)
    .all<StoredRow<ListedAccessToken>>();
  return results.map(decoded);
}

/** One token of one deployment, revoked or not (the caller decides what a revoked one means). */
export async function getAccessToken(db: D1Database, deploymentId: string, tokenId: string): Promise<AccessTokenRow | null> {
  const row = await db
    .prepare("SELECT * FROM access_tokens WHERE id = ?1 AND deployment_id = ?2")
    .bind(tokenId, deploymentId)
    .first<StoredRow<AccessTokenRow>>();
  return row ? decoded(row) : null;
}

/** Marks one token revoked; RETURNING lists it only if this statement revoked it. */
export function revokeAccessToken(db: D1Database, tokenId: string, at: number): D1PreparedStatement {
  return db
    .prepare("UPDATE access_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL RETURNING id, secret_hash")
    .bind(tokenId, at);
}

/** Marks every live token of a deployment revoked; RETURNING lists the ones it revoked. */
export function revokeDeploymentTokens(db: D1Database, deploymentId: string, at: number): D1PreparedStatement {
  return db
    .prepare("UPDATE access_tokens SET revoked_at = ?2 WHERE deployment_id = ?1 AND revoked_at IS NULL RETURNING id, secret_hash")
    .bind(deploymentId, at);
}

/** The tokens a revoking statement above revoked (its RETURNING rows), read from its batch result. */
export function revokedTokens(result: D1Result): TokenRef[] {
  return result.results as TokenRef[];
}

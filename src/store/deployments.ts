import type { DeploymentType } from "../tokens/vocabulary";

/** Rows of `deployments`. Reads see live deployments only; deletion marks `deleted_at`. */

export interface Deployment {
  id: string;
  name: string;
  type: DeploymentType;
  tier_id: number;
  upstream_url: string | null;
  insert_url: string | null;
  select_url: string | null;
  created_at: number;
  updated_at: number;
}

const COLUMNS = "id, name, type, tier_id, upstream_url, insert_url, select_url, created_at, updated_at";

export async function getDeployment(db: D1Database, id: string): Promise<Deployment | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM deployments WHERE id = ?1 AND deleted_at IS NULL`).bind(id).first<Deployment>();
}

/** Keyset position in the list order (created_at, id). */
export interface DeploymentPosition {
  created_at: number;
  id: string;
}

/**
 * Live deployments, oldest first; `ids` narrows the list to an API key's scope (null = all);
 * `after` and `limit` page through it (no limit = all).
 */
export async function listDeployments(
  db: D1Database,
  ids: readonly string[] | null,
  page: { after?: DeploymentPosition; limit?: number } = {},
): Promise<Deployment[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM deployments
       WHERE deleted_at IS NULL
         AND (?1 IS NULL OR id IN (SELECT value FROM json_each(?1)))
         AND (?2 IS NULL OR (created_at, id) > (?2, ?3))
       ORDER BY created_at, id LIMIT ?4`,
    )
    .bind(ids === null ? null : JSON.stringify(ids), page.after?.created_at ?? null, page.after?.id ?? null, page.limit ?? -1)
    .all<Deployment>();
  return results;
}

/** Those of `ids` that name live deployments. */
export async function liveDeploymentIds(db: D1Database, ids: readonly string[]): Promise<Set<string>> {
  const { results } = await db
    .prepare("SELECT id FROM deployments WHERE deleted_at IS NULL AND id IN (SELECT value FROM json_each(?1))")
    .bind(JSON.stringify(ids))
    .all<{ id: string }>();
  return new Set(results.map((r) => r.id));
}

export function insertDeployment(db: D1Database, d: Deployment): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO deployments (id, name, type, tier_id, upstream_url, insert_url, select_url, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`,
    )
    .bind(d.id, d.name, d.type, d.tier_id, d.upstream_url, d.insert_url, d.select_url, d.created_at, d.updated_at);
}

/** Writes the whole updatable state; the caller merges the changes into the current row. */
export function updateDeployment(db: D1Database, d: Deployment): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE deployments SET name = ?2, tier_id = ?3, upstream_url = ?4, insert_url = ?5, select_url = ?6, updated_at = ?7
       WHERE id = ?1 AND deleted_at IS NULL`,
    )
    .bind(d.id, d.name, d.tier_id, d.upstream_url, d.insert_url, d.select_url, d.updated_at);
}

export function markDeploymentDeleted(db: D1Database, id: string, at: number): D1PreparedStatement {
  return db.prepare("UPDATE deployments SET deleted_at = ?2, updated_at = ?2 WHERE id = ?1 AND deleted_at IS NULL").bind(id, at);
}

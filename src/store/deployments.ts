/** Rows of `deployments`. Reads see live deployments only; deletion marks `deleted_at`. */

export type DeploymentType = "single_node" | "cluster";

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

/** What an update may change: everything but the id, the type and the timestamps. */
export type DeploymentChanges = Partial<Pick<Deployment, "name" | "tier_id" | "upstream_url" | "insert_url" | "select_url">>;

const COLUMNS = "id, name, type, tier_id, upstream_url, insert_url, select_url, created_at, updated_at";

export async function getDeployment(db: D1Database, id: string): Promise<Deployment | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM deployments WHERE id = ?1 AND deleted_at IS NULL`).bind(id).first<Deployment>();
}

/** Live deployments, oldest first; `ids` narrows the list to an API key's scope (null = all). */
export async function listDeployments(db: D1Database, ids: readonly string[] | null): Promise<Deployment[]> {
  if (ids === null) {
    const { results } = await db
      .prepare(`SELECT ${COLUMNS} FROM deployments WHERE deleted_at IS NULL ORDER BY created_at, id`)
      .all<Deployment>();
    return results;
  }
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM deployments
       WHERE deleted_at IS NULL AND id IN (SELECT value FROM json_each(?1)) ORDER BY created_at, id`,
    )
    .bind(JSON.stringify(ids))
    .all<Deployment>();
  return results;
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

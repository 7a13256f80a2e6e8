import type { AuditAction, AuditTargetType } from "../tokens/vocabulary";

/**
 * Rows of `audit_log`: who did what to which object, and when. `detail` is a small JSON object
 * of non-secret facts (a token's type, the fields an update changed) — never a secret, a hash
 * or a ciphertext.
 */

export interface AuditEntry {
  at: number;
  requestId: string;
  actor: { id: string; name: string };
  action: AuditAction;
  targetType: AuditTargetType;
  targetId: string;
  deploymentId: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditRow {
  id: number;
  at: number;
  request_id: string;
  actor_id: string;
  actor_name: string;
  action: AuditAction;
  target_type: AuditTargetType;
  target_id: string;
  deployment_id: string | null;
  detail: string | null;
}

const INSERT = `INSERT INTO audit_log (at, request_id, actor_id, actor_name, action, target_type, target_id, deployment_id, detail)`;

function values(e: AuditEntry): unknown[] {
  return [e.at, e.requestId, e.actor.id, e.actor.name, e.action, e.targetType, e.targetId, e.deploymentId, e.detail ? JSON.stringify(e.detail) : null];
}

export function insertAudit(db: D1Database, entry: AuditEntry): D1PreparedStatement {
  return db.prepare(`${INSERT} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`).bind(...values(entry));
}

/**
 * Inserts the entry only if the access token `entry.targetId` exists: paired with a conditional
 * token insert in one batch, a refused insert leaves no audit row behind either.
 */
export function insertAuditIfTokenExists(db: D1Database, entry: AuditEntry): D1PreparedStatement {
  return db
    .prepare(`${INSERT} SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM access_tokens WHERE id = ?7)`)
    .bind(...values(entry));
}

/** Inserts the entry only if the access token `tokenId` exists: placed after a conditional insert of it. */
export function insertAuditIfTokenInserted(db: D1Database, entry: AuditEntry, tokenId: string): D1PreparedStatement {
  return db
    .prepare(`${INSERT} SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM access_tokens WHERE id = ?10)`)
    .bind(...values(entry), tokenId);
}

/**
 * Inserts the entry only if the API key `entry.targetId` has `revoked_at` equal to `entry.at`:
 * placed after the revoking UPDATE in one batch, it audits a revocation only when that UPDATE made it.
 */
export function insertAuditIfApiKeyRevokedNow(db: D1Database, entry: AuditEntry): D1PreparedStatement {
  return db
    .prepare(`${INSERT} SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = ?7 AND revoked_at = ?1)`)
    .bind(...values(entry));
}

/** Keyset position in the audit order (newest first: at DESC, id DESC). */
export interface AuditPosition {
  at: number;
  id: number;
}

export interface AuditQuery {
  deploymentId?: string;
  actorId?: string;
  action?: AuditAction;
  /** Inclusive lower bound on `at`. */
  since?: number;
  /** Exclusive upper bound on `at`. */
  until?: number;
  /**
   * The caller's scope: null sees every row; a list sees only rows about those deployments
   * (rows about API keys, which concern no deployment, are then hidden).
   */
  scope: readonly string[] | null;
  before?: AuditPosition;
  limit: number;
}

/**
 * Audit rows matching every given filter, newest first. Only the filters given become SQL
 * conditions (all values bound), so SQLite can pick the index that fits: by deployment, by actor,
 * or by time.
 */
export async function listAudit(db: D1Database, q: AuditQuery): Promise<AuditRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => {
    where.push(sql.replace(/\?/g, () => `?${params.push(values.shift())}`));
  };
  if (q.deploymentId !== undefined) add("deployment_id = ?", q.deploymentId);
  if (q.actorId !== undefined) add("actor_id = ?", q.actorId);
  if (q.action !== undefined) add("action = ?", q.action);
  if (q.since !== undefined) add("at >= ?", q.since);
  if (q.until !== undefined) add("at < ?", q.until);
  if (q.scope !== null) add("deployment_id IN (SELECT value FROM json_each(?))", JSON.stringify(q.scope));
  if (q.before !== undefined) add("(at, id) < (?, ?)", q.before.at, q.before.id);
  const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY at DESC, id DESC LIMIT ?${params.push(q.limit)}`;
  const { results } = await db.prepare(sql).bind(...params).all<AuditRow>();
  return results;
}

/**
 * One `access_token.revoke` entry per live token of a deployment. Placed in a batch before the
 * statement that revokes them, it audits exactly the tokens that statement revokes.
 */
export function insertAuditForLiveTokens(
  db: D1Database,
  deploymentId: string,
  entry: Omit<AuditEntry, "action" | "targetType" | "targetId" | "deploymentId">,
): D1PreparedStatement {
  return db
    .prepare(
      `${INSERT} SELECT ?1, ?2, ?3, ?4, 'access_token.revoke', 'access_token', id, deployment_id, ?5
       FROM access_tokens WHERE deployment_id = ?6 AND revoked_at IS NULL`,
    )
    .bind(entry.at, entry.requestId, entry.actor.id, entry.actor.name, entry.detail ? JSON.stringify(entry.detail) : null, deploymentId);
}

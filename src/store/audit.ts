/**
 * Rows of `audit_log`: who did what to which object, and when. `detail` is a small JSON object
 * of non-secret facts (a token's type, the fields an update changed) — never a secret, a hash
 * or a ciphertext.
 */

export type AuditAction =
  | "deployment.create"
  | "deployment.update"
  | "deployment.delete"
  | "access_token.create"
  | "access_token.reveal"
  | "access_token.revoke";

export interface AuditEntry {
  at: number;
  requestId: string;
  actor: { id: string; name: string };
  action: AuditAction;
  targetType: "deployment" | "access_token";
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
  target_type: string;
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

/** Audit rows about one object, oldest first. */
export async function listAuditForTarget(db: D1Database, targetType: string, targetId: string): Promise<AuditRow[]> {
  const { results } = await db
    .prepare("SELECT * FROM audit_log WHERE target_type = ?1 AND target_id = ?2 ORDER BY at, id")
    .bind(targetType, targetId)
    .all<AuditRow>();
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

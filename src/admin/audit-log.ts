import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { type AuditRow, listAudit } from "../store/audit";
import type { AdminEnv } from "./context";
import { errors, jsonContent, PAGE_HEADERS } from "./openapi-common";
import { decodeCursor, pageOf } from "./pagination";
import { AuditEntry } from "./response-schemas";
import { AuditQuery } from "./schemas";

/**
 * GET /api/v1/audit: who did what, newest first. Any key may read it (read-only keys included),
 * but a key limited to some deployments sees only entries about those deployments — never entries
 * about API keys, which concern no deployment. Filtering on a deployment outside the scope gives
 * an empty list, the same as one that never existed.
 */

/** Page size when the request gives no `limit`: the log grows without bound. */
export const DEFAULT_AUDIT_PAGE = 100;

export function auditEntryJson(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: new Date(row.at).toISOString(),
    request_id: row.request_id,
    actor_id: row.actor_id,
    actor_name: row.actor_name,
    action: row.action,
    target_type: row.target_type,
    target_id: row.target_id,
    ...(row.deployment_id !== null ? { deployment_id: row.deployment_id } : {}),
    ...(row.detail !== null ? { detail: JSON.parse(row.detail) as Record<string, unknown> } : {}),
  };
}

const AuditPosition = z.tuple([z.number().int(), z.number().int()]).transform(([at, id]) => ({ at, id }));

const listRoute = createRoute({
  method: "get",
  path: "/",
  operationId: "listAudit",
  tags: ["audit"],
  summary: "Read the audit log",
  description:
    "Every create, reveal (examples included), revoke, update and delete, newest first, with actor, target, time and request id; never a secret. Filters combine with AND. Pages with `limit` (default 100) and `cursor`; the next page is in the `Link` header.",
  request: { query: AuditQuery },
  responses: {
    200: { description: "Audit entries", headers: PAGE_HEADERS, content: jsonContent(z.array(AuditEntry)) },
    ...errors(400),
  },
});

export const auditApp = new OpenAPIHono<AdminEnv>().openapi(listRoute, async function listAuditHandler(c) {
  const q = c.req.valid("query");
  const limit = q.limit ?? DEFAULT_AUDIT_PAGE;
  const rows = await listAudit(c.env.DB, {
    deploymentId: q.deployment_id,
    actorId: q.actor_id,
    action: q.action,
    since: q.since,
    until: q.until,
    scope: c.var.actor.deploymentIds,
    before: decodeCursor(q.cursor, AuditPosition),
    limit: limit + 1,
  });
  return c.json(pageOf(c, rows, limit, (r) => [r.at, r.id]).map(auditEntryJson), 200);
});

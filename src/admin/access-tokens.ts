import { Hono } from "hono";
import { HttpError, notFound } from "../errors";
import {
  type AccessTokenRow,
  type AccessTokenSummary,
  getAccessToken,
  insertAccessTokenWithinLimit,
  listAccessTokens,
  revokeAccessToken,
} from "../store/access-tokens";
import { insertAudit, insertAuditIfTokenExists } from "../store/audit";
import { getTier } from "../store/tiers";
import { decryptSecret } from "../token/crypto";
import { ACCESS_TOKEN_PREFIX, maskSecret } from "../token/format";
import { requireWrite } from "./auth";
import type { Actor, AdminEnv } from "./context";
import { findDeployment } from "./deployments";
import { CreateAccessTokenBody } from "./schemas";
import { mintAccessToken, propagateRevocations, publishProjections, recordFor } from "./token-lifecycle";
import { invalidRequest, jsonBody } from "./validation";

/**
 * Access tokens of a deployment. Mounted at /api/v1/deployments, so paths carry the deployment.
 * Tokens are immutable: create, list, reveal, revoke.
 */

/** The JSON of a token (VictoriaMetrics Cloud's AccessToken): empty tenant and never-used time are omitted. */
export function accessTokenJson(t: AccessTokenSummary, value: string) {
  return {
    id: t.id,
    value,
    type: t.type,
    description: t.description,
    created_by: t.created_by,
    created_at: new Date(t.created_at).toISOString(),
    ...(t.tenant_id ? { tenant_id: t.tenant_id } : {}),
    ...(t.last_used_at !== null ? { last_used_at: new Date(t.last_used_at).toISOString() } : {}),
  };
}

// Every secret starts with the fixed prefix, so its first four characters are known without
// decrypting anything: a list costs no crypto.
const MASKED_VALUE = maskSecret(ACCESS_TOKEN_PREFIX);

async function findToken(db: D1Database, actor: Actor, deploymentId: string, tokenId: string): Promise<AccessTokenRow> {
  await findDeployment(db, actor, deploymentId);
  const token = await getAccessToken(db, deploymentId, tokenId);
  if (!token) throw notFound(`No access token ${JSON.stringify(tokenId)} in this deployment: list them with GET .../access_tokens.`);
  return token;
}

function tokensAreImmutable(): never {
  throw new HttpError(405, "method_not_allowed", "Access tokens are immutable: create a new token and revoke the old one.", { allow: "GET, DELETE" });
}

export const accessTokensApp = new Hono<AdminEnv>()
  .get("/:deploymentId/access_tokens", async function listAccessTokensRoute(c) {
    const deployment = await findDeployment(c.env.DB, c.var.actor, c.req.param("deploymentId"));
    const tokens = await listAccessTokens(c.env.DB, deployment.id);
    return c.json(tokens.map((t) => accessTokenJson(t, MASKED_VALUE)));
  })

  .post("/:deploymentId/access_tokens", requireWrite, jsonBody(CreateAccessTokenBody), async function createAccessTokenRoute(c) {
    const { actor, requestId } = c.var;
    const deployment = await findDeployment(c.env.DB, actor, c.req.param("deploymentId"));
    const body = c.req.valid("json");
    if (body.tenant_id !== undefined && deployment.type !== "cluster") {
      throw invalidRequest("tenant_id", "only cluster deployments have tenants; omit it for a single_node deployment");
    }
    const tier = await getTier(c.env.DB, deployment.tier_id);
    if (!tier) throw new Error(`deployment ${deployment.id} names missing tier ${deployment.tier_id}`);

    const now = Date.now();
    const { row, secret } = await mintAccessToken(c.env, {
      deploymentId: deployment.id,
      type: body.type,
      description: body.description,
      tenantId: body.tenant_id,
      actor,
      now,
    });
    const detail = { type: row.type, description: row.description, ...(row.tenant_id ? { tenant_id: row.tenant_id } : {}) };
    const [inserted] = await c.env.DB.batch([
      insertAccessTokenWithinLimit(c.env.DB, row),
      insertAuditIfTokenExists(c.env.DB, { at: now, requestId, actor, action: "access_token.create", targetType: "access_token", targetId: row.id, deploymentId: deployment.id, detail }),
    ]);
    if (!inserted || inserted.meta.changes !== 1) {
      throw new HttpError(
        409,
        "token_limit_reached",
        `Deployment has reached its tier's limit of ${tier.access_token_limit} access tokens: revoke one or move to a bigger tier.`,
        {},
        { limit: tier.access_token_limit },
      );
    }
    await publishProjections(c.env, [{ secretHash: row.secret_hash, record: recordFor(row, deployment, tier) }]);
    return c.json(accessTokenJson(row, secret), 201);
  })

  .get("/:deploymentId/access_tokens/:tokenId", requireWrite, async function revealAccessTokenRoute(c) {
    const { actor, requestId } = c.var;
    const token = await findToken(c.env.DB, actor, c.req.param("deploymentId"), c.req.param("tokenId"));
    if (token.revoked_at !== null) throw notFound("This access token was revoked: create a new one.");
    const secret = await decryptSecret(c.env.TOKEN_ENCRYPTION_KEY, token.secret_sealed, token.id);
    // The audit row is written before the secret leaves: no unaudited reveal.
    await insertAudit(c.env.DB, { at: Date.now(), requestId, actor, action: "access_token.reveal", targetType: "access_token", targetId: token.id, deploymentId: token.deployment_id }).run();
    c.header("cache-control", "no-store");
    return c.json(accessTokenJson(token, secret));
  })

  .delete("/:deploymentId/access_tokens/:tokenId", requireWrite, async function revokeAccessTokenRoute(c) {
    const { actor, requestId } = c.var;
    const token = await findToken(c.env.DB, actor, c.req.param("deploymentId"), c.req.param("tokenId"));
    if (token.revoked_at === null) {
      const now = Date.now();
      await c.env.DB.batch([
        revokeAccessToken(c.env.DB, token.id, now),
        insertAudit(c.env.DB, { at: now, requestId, actor, action: "access_token.revoke", targetType: "access_token", targetId: token.id, deploymentId: token.deployment_id }),
      ]);
    }
    // Also on a repeat: a revocation whose propagation failed half-way is finished by retrying.
    await propagateRevocations(c.env, [token]);
    return c.body(null, 204);
  })

  .on(["PUT", "PATCH", "POST"], "/:deploymentId/access_tokens/:tokenId", tokensAreImmutable);

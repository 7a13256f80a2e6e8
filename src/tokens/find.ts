import { notFound } from "../errors";
import { type AccessTokenRow, getAccessToken } from "../store/access-tokens";
import { type Deployment, getDeployment } from "../store/deployments";
import { canAccessDeployment, type Actor } from "./actor";

/** A live deployment the actor may see, or 404 (out-of-scope ids look unknown). */
export async function findDeployment(env: Env, actor: Actor, id: string): Promise<Deployment> {
  const deployment = canAccessDeployment(actor, id) ? await getDeployment(env.DB, id) : null;
  if (!deployment) throw notFound(`No deployment ${JSON.stringify(id)}: list them with GET /admin/api/v1/deployments.`);
  return deployment;
}

/** A token of a deployment the actor may see (revoked ones included), with its deployment; else 404. */
export async function findToken(
  env: Env,
  actor: Actor,
  deploymentId: string,
  tokenId: string,
): Promise<{ deployment: Deployment; token: AccessTokenRow }> {
  const deployment = await findDeployment(env, actor, deploymentId);
  const token = await getAccessToken(env.DB, deployment.id, tokenId);
  if (!token) throw notFound(`No access token ${JSON.stringify(tokenId)} in this deployment: list them with GET .../access_tokens.`);
  return { deployment, token };
}

import { exports } from "cloudflare:workers";

/** Drives the management API the way an operator would, to set up data-plane tests. */
export const ADMIN_HEADERS = { "x-vm-cloud-access": "test-admin-key", "content-type": "application/json" };

export async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  return exports.default.fetch(`http://authorizer.test/admin/api/v1${path}`, {
    method,
    headers: ADMIN_HEADERS,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export interface Tier {
  id: number | string;
  type: string;
  access_token_concurrent_requests: number;
  access_token_limit: number;
}

/** The tier of a type with the smallest per-token concurrency, so limits are cheap to reach in tests. */
export async function smallestTier(type: "single_node" | "cluster"): Promise<Tier> {
  const tiers = (await json<Tier[]>(await admin("GET", "/tiers"))).filter((t) => t.type === type);
  return tiers.reduce((a, b) => (a.access_token_concurrent_requests <= b.access_token_concurrent_requests ? a : b));
}

export async function singleNode(upstreamUrl: string, name = "single"): Promise<{ id: string }> {
  const tier = await smallestTier("single_node");
  return json(await admin("POST", "/deployments", { name, type: "single_node", tier: tier.id, upstream_url: upstreamUrl }));
}

export async function cluster(insertUrl: string, selectUrl: string, name = "cluster"): Promise<{ id: string }> {
  const tier = await smallestTier("cluster");
  return json(await admin("POST", "/deployments", { name, type: "cluster", tier: tier.id, insert_url: insertUrl, select_url: selectUrl }));
}

export interface CreatedToken {
  id: string;
  value: string;
}

export async function token(deploymentId: string, type: "r" | "w" | "rw", tenantId?: string): Promise<CreatedToken> {
  return json(
    await admin("POST", `/deployments/${deploymentId}/access_tokens`, {
      type,
      description: `test ${type}`,
      ...(tenantId ? { tenant_id: tenantId } : {}),
    }),
  );
}

export async function revoke(deploymentId: string, tokenId: string): Promise<Response> {
  return admin("DELETE", `/deployments/${deploymentId}/access_tokens/${tokenId}`);
}

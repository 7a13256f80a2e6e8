// The management API under /admin, as an operator or Terraform would call it: the API key in
// `X-VM-Cloud-Access`, JSON bodies, VictoriaMetrics Cloud field names. Only what the suite needs.

import { fetchWithTimeout } from "./processes.ts";

export interface Tier {
  id: number;
  name: string;
  type: "single_node" | "cluster";
  access_token_concurrent_requests: number;
  access_token_limit: number;
}

export interface Deployment {
  id: string;
  name: string;
  type: "single_node" | "cluster";
  tier: number;
}

export interface AccessToken {
  id: string;
  /** The whole secret (create answer). */
  value: string;
  type: "r" | "w" | "rw";
  description: string;
  tenant_id?: string;
  expires_at?: string;
  allowed_networks?: string[];
  labels?: Record<string, string>;
}

/** POST …/rotate's answer: the successor, and until when the replaced token works. */
export type RotatedToken = AccessToken & { replaces: { id: string; expires_at: string } };

export type NewDeployment =
  | { name: string; type: "single_node"; tier: number; upstream_url: string }
  | { name: string; type: "cluster"; tier: number; insert_url: string; select_url: string };

export interface Management {
  tiers(): Promise<Tier[]>;
  /** The tier with the fewest concurrent requests per token, of a deployment type. */
  smallestTier(type: Tier["type"]): Promise<Tier>;
  createDeployment(body: NewDeployment): Promise<Deployment>;
  createToken(
    deploymentId: string,
    body: { type: AccessToken["type"]; description: string; tenant_id?: string; expires_at?: string; allowed_networks?: string[]; labels?: Record<string, string> },
  ): Promise<AccessToken>;
  /** POST …/access_tokens/{id}/rotate. */
  rotateToken(deploymentId: string, tokenId: string, overlapSeconds: number): Promise<RotatedToken>;
  /** DELETE …/access_tokens/{id}; resolves when the answer (204) has arrived. */
  revokeToken(deploymentId: string, tokenId: string): Promise<void>;
}

export function managementClient(worker: { url: string; adminApiKey: string }): Management {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetchWithTimeout(`${worker.url}/admin/api/v1${path}`, {
      method,
      headers: { "X-VM-Cloud-Access": worker.adminApiKey, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} /admin/api/v1${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return (text === "" ? undefined : JSON.parse(text)) as T;
  };
  const tiers = () => call<Tier[]>("GET", "/tiers");
  return {
    tiers,
    async smallestTier(type) {
      const of = (await tiers()).filter((t) => t.type === type);
      if (of.length === 0) throw new Error(`no ${type} tier`);
      return of.reduce((a, b) => (b.access_token_concurrent_requests < a.access_token_concurrent_requests ? b : a));
    },
    createDeployment: (body) => call<Deployment>("POST", "/deployments", body),
    createToken: (deploymentId, body) => call<AccessToken>("POST", `/deployments/${deploymentId}/access_tokens`, body),
    rotateToken: (deploymentId, tokenId, overlapSeconds) =>
      call<RotatedToken>("POST", `/deployments/${deploymentId}/access_tokens/${tokenId}/rotate`, { overlap_seconds: overlapSeconds }),
    async revokeToken(deploymentId, tokenId) {
      await call<void>("DELETE", `/deployments/${deploymentId}/access_tokens/${tokenId}`);
    },
  };
}

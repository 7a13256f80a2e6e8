// The management API from Node, for a test's setup and for checking what the console did.

import type { WorkerHarness } from "../../e2e/lib/worker.ts";

export interface DeploymentJson {
  id: string;
  name: string;
  type: "single_node" | "cluster";
  tier: number;
  access_endpoint: string;
}

export interface AccessTokenJson {
  id: string;
  value: string;
  type: "r" | "w" | "rw";
  description: string;
  tenant_id?: string;
  expires_at?: string;
  allowed_networks?: string[];
  labels?: Record<string, string>;
}

export interface Admin {
  call<T = unknown>(method: string, path: string, body?: unknown, expectStatus?: number): Promise<T>;
  createDeployment(body: Record<string, unknown>): Promise<DeploymentJson>;
  tokens(deploymentId: string): Promise<AccessTokenJson[]>;
  reveal(deploymentId: string, tokenId: string): Promise<AccessTokenJson>;
  createToken(deploymentId: string, body: Record<string, unknown>): Promise<AccessTokenJson>;
}

/** Calls /admin/api/v1 of `worker` with `key` (default: the bootstrap key), failing on an unexpected status. */
export function admin(worker: WorkerHarness, key = worker.adminApiKey): Admin {
  async function call<T>(method: string, path: string, body?: unknown, expectStatus?: number): Promise<T> {
    const headers: Record<string, string> = { "x-vm-cloud-access": key };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await worker.fetch(`/admin/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const expected = expectStatus ?? (method === "POST" ? 201 : method === "DELETE" ? 204 : 200);
    if (res.status !== expected) throw new Error(`${method} ${path}: expected ${expected}, got ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
  return {
    call,
    createDeployment: (body) => call<DeploymentJson>("POST", "/deployments", body),
    tokens: (id) => call<AccessTokenJson[]>("GET", `/deployments/${id}/access_tokens`),
    reveal: (id, tokenId) => call<AccessTokenJson>("GET", `/deployments/${id}/access_tokens/${tokenId}`),
    createToken: (id, body) => call<AccessTokenJson>("POST", `/deployments/${id}/access_tokens`, body),
  };
}

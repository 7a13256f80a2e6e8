import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { tokenKvKey } from "../../../src/store/token-projection";
import type { TokenRecord } from "../../../src/store/token-record";
import { hashSecret } from "../../../src/token/crypto";

/**
 * Drives the management API through the Worker's own fetch handler. Other test files use
 * `createDeployment` / `createAccessToken` to get a working token in one call.
 */

export const ADMIN_KEY = "test-admin-key";
export const BASE = "http://authorizer.test/admin/api/v1";

// `exports.default` is the Worker's default export (the Hono app); its type is not generated.
const worker = exports as unknown as { default: { fetch(input: string | Request, init?: RequestInit): Promise<Response> } };

/** A request to the Worker by absolute URL, as an outside client sends it (no defaults added). */
export function workerFetch(url: string, init?: RequestInit): Promise<Response> {
  return worker.default.fetch(url, init);
}

export interface AdminRequest {
  body?: unknown;
  /** Raw body text, sent as is (for malformed JSON). */
  rawBody?: string;
  /** API key to send; null sends none. Defaults to the bootstrap key. */
  key?: string | null;
  contentType?: string | null;
  headers?: Record<string, string>;
}

export async function adminFetch(method: string, path: string, req: AdminRequest = {}): Promise<Response> {
  const headers = new Headers(req.headers);
  const key = req.key === undefined ? ADMIN_KEY : req.key;
  if (key !== null) headers.set("x-vm-cloud-access", key);
  const body = req.rawBody ?? (req.body === undefined ? undefined : JSON.stringify(req.body));
  const contentType = req.contentType === undefined ? (body === undefined ? null : "application/json") : req.contentType;
  if (contentType !== null) headers.set("content-type", contentType);
  return worker.default.fetch(`${BASE}${path}`, { method, headers, body });
}

/** Parses a JSON answer, failing with the status and body when it is not the expected status. */
export async function expectJson<T = Record<string, unknown>>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

export interface TierJson {
  id: number;
  name: string;
  type: "single_node" | "cluster";
  access_token_concurrent_requests: number;
  access_token_limit: number;
}

export interface DeploymentJson {
  id: string;
  name: string;
  type: "single_node" | "cluster";
  tier: number;
  created_at: string;
  status: string;
  access_endpoint: string;
  upstream_url?: string;
  insert_url?: string;
  select_url?: string;
}

export interface AccessTokenJson {
  id: string;
  value: string;
  type: "r" | "w" | "rw";
  description: string;
  created_by: string;
  created_at: string;
  tenant_id?: string;
  last_used_at?: string;
}

export async function listTiers(): Promise<TierJson[]> {
  return expectJson<TierJson[]>(await adminFetch("GET", "/tiers"), 200);
}

/** The tier with the fewest tokens allowed (cheapest to reach its cap). */
export async function smallestTier(): Promise<TierJson> {
  const tiers = await listTiers();
  return tiers.reduce((a, b) => (a.access_token_limit <= b.access_token_limit ? a : b));
}

export type CreateDeploymentInput =
  | { type?: "single_node"; name?: string; tier?: number; upstream_url?: string }
  | { type: "cluster"; name?: string; tier?: number; insert_url?: string; select_url?: string };

/**
 * Creates a deployment (single-node on http://127.0.0.1:8428 by default) and returns it with its
 * default rw token, secret revealed.
 */
export async function createDeployment(
  input: CreateDeploymentInput = {},
): Promise<{ deployment: DeploymentJson; defaultToken: AccessTokenJson }> {
  const tier = input.tier ?? (await smallestTier()).id;
  const body =
    input.type === "cluster"
      ? {
          name: input.name ?? "test cluster",
          type: "cluster",
          tier,
          insert_url: input.insert_url ?? "http://127.0.0.1:8480",
          select_url: input.select_url ?? "http://127.0.0.1:8481",
        }
      : { name: input.name ?? "test single", type: "single_node", tier, upstream_url: input.upstream_url ?? "http://127.0.0.1:8428" };
  const deployment = await expectJson<DeploymentJson>(await adminFetch("POST", "/deployments", { body }), 201);
  const [listed] = await expectJson<AccessTokenJson[]>(await adminFetch("GET", `/deployments/${deployment.id}/access_tokens`), 200);
  if (!listed) throw new Error("deployment was created without its default token");
  const defaultToken = await expectJson<AccessTokenJson>(await adminFetch("GET", `/deployments/${deployment.id}/access_tokens/${listed.id}`), 200);
  return { deployment, defaultToken };
}

export async function createAccessToken(
  deploymentId: string,
  input: { type?: "r" | "w" | "rw"; description?: string; tenant_id?: string } = {},
): Promise<AccessTokenJson> {
  const body = { type: input.type ?? "rw", description: input.description ?? "test token", ...(input.tenant_id ? { tenant_id: input.tenant_id } : {}) };
  return expectJson<AccessTokenJson>(await adminFetch("POST", `/deployments/${deploymentId}/access_tokens`, { body }), 201);
}

export async function revokeAccessToken(deploymentId: string, tokenId: string): Promise<void> {
  const res = await adminFetch("DELETE", `/deployments/${deploymentId}/access_tokens/${tokenId}`);
  if (res.status !== 204) throw new Error(`revoke: expected 204, got ${res.status}: ${await res.text()}`);
}

/** Row counts of the management tables, to prove a refused request wrote nothing. */
export async function tableCounts(): Promise<Record<string, number>> {
  const tables = ["deployments", "access_tokens", "audit_log", "api_keys"];
  const out: Record<string, number> = {};
  for (const t of tables) {
    const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${t}`).first<{ n: number }>();
    out[t] = row?.n ?? 0;
  }
  return out;
}

/** Number of keys in the token KV namespace. */
export async function kvKeyCount(): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await env.TOKENS_KV.list({ cursor });
    count += page.keys.length;
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return count;
}

export interface ApiKeyJson {
  id: string;
  name: string;
  access: "r" | "rw";
  deployment_ids?: string[];
  expires_at?: string;
  created_at: string;
  created_by: string;
  revoked_at?: string;
}

/** A created key: the answer of POST /api_keys, with the secret in `value`. */
export type CreatedApiKeyJson = ApiKeyJson & { value: string };

export async function createApiKey(
  input: { name?: string; access?: "r" | "rw"; deployment_ids?: string[]; expires_at?: string } = {},
  key: string = ADMIN_KEY,
): Promise<CreatedApiKeyJson> {
  const body = { name: input.name ?? "test key", access: input.access ?? "rw", ...input };
  return expectJson<CreatedApiKeyJson>(await adminFetch("POST", "/api_keys", { body, key }), 201);
}

export async function revokeApiKey(id: string): Promise<void> {
  const res = await adminFetch("DELETE", `/api_keys/${id}`);
  if (res.status !== 204) throw new Error(`revoke key: expected 204, got ${res.status}: ${await res.text()}`);
}

export interface AuditEntryJson {
  id: number;
  at: string;
  request_id: string;
  actor_id: string;
  actor_name: string;
  action: string;
  target_type: "deployment" | "access_token" | "api_key";
  target_id: string;
  deployment_id?: string;
  detail?: Record<string, unknown>;
}

/** Follows `Link: <…>; rel="next"` from `path` to the end; returns every item and the pages seen. */
export async function fetchAllPages<T>(path: string, key: string = ADMIN_KEY): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let pages = 0;
  let next: string | null = path;
  while (next !== null) {
    const res = await adminFetch("GET", next, { key });
    items.push(...(await expectJson<T[]>(res, 200)));
    pages++;
    const link = res.headers.get("link");
    if (link === null) {
      expect(res.headers.get("x-next-cursor")).toBeNull();
      next = null;
    } else {
      const url = /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
      if (!url) throw new Error(`unexpected Link header ${link}`);
      expect(new URL(url).searchParams.get("cursor")).toBe(res.headers.get("x-next-cursor"));
      next = new URL(url).href.slice(BASE.length);
    }
    if (pages > 1000) throw new Error("pagination does not end");
  }
  return { items, pages };
}

/** Audit rows as stored, oldest first; optionally only those about one target. */
export async function storedAudit(targetId?: string): Promise<Record<string, unknown>[]> {
  const stmt =
    targetId === undefined
      ? env.DB.prepare("SELECT * FROM audit_log ORDER BY id")
      : env.DB.prepare("SELECT * FROM audit_log WHERE target_id = ?1 ORDER BY id").bind(targetId);
  return (await stmt.all<Record<string, unknown>>()).results;
}

/** Every value stored in D1 and KV, one string per row / key and value, for "no secret here" checks. */
export async function everythingStored(): Promise<string[]> {
  const out: string[] = [];
  for (const table of ["tiers", "deployments", "access_tokens", "api_keys", "audit_log"]) {
    const { results } = await env.DB.prepare(`SELECT * FROM ${table}`).all();
    out.push(...results.map((row) => JSON.stringify(row)));
  }
  const { keys } = await env.TOKENS_KV.list();
  for (const { name } of keys) out.push(`${name} ${await env.TOKENS_KV.get(name)}`);
  return out;
}

/** The KV projection stored for a secret, or null. */
export async function projection(secret: string): Promise<TokenRecord | null> {
  return env.TOKENS_KV.get<TokenRecord>(tokenKvKey(await hashSecret(secret)), "json");
}

/** What the token's Durable Object says of it (revoked or not). */
export async function limiterState(tokenId: string): Promise<{ revoked: boolean; expiresAt: number | null }> {
  const stub = env.TOKEN_LIMITER.getByName(tokenId) as unknown as { state(): Promise<{ revoked: boolean; expiresAt: number | null }> };
  return stub.state();
}

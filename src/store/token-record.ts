import { z } from "zod";
import { MAX_WAIT_CEILING_MS } from "../limiter/lease-policy";
import { AccessLevel, DeploymentType } from "../tokens/vocabulary";

/**
 * The small record the data path needs for one access token: the KV projection's value
 * (key: `tokenKvKey` in token-projection.ts) and what the D1 fallback returns on a KV miss.
 * It holds routing and limits only — never the secret, never its hash.
 */
export const TokenRecord = z.object({
  v: z.literal(1),
  token_id: z.string(),
  deployment_id: z.string(),
  deployment_type: DeploymentType,
  access: AccessLevel,
  /** Tenant pinned by a tenant-specific token on a cluster deployment (`accountID[:projectID]`). */
  tenant_id: z.string().optional(),
  /** Concurrent requests allowed for this token (from the deployment's tier). */
  concurrency: z.number().int().positive(),
  /** Longest wait for a permit before the 429, ms (from the deployment's tier); absent: the Worker's PERMIT_MAX_WAIT_MS. */
  max_wait_ms: z.number().int().min(0).max(MAX_WAIT_CEILING_MS).optional(),
  /** single_node: the VictoriaMetrics base URL. */
  upstream_url: z.string().optional(),
  /** cluster: vminsert and vmselect base URLs. */
  insert_url: z.string().optional(),
  select_url: z.string().optional(),
  /** Epoch milliseconds after which the token is refused; absent = never expires. */
  expires_at: z.number().int().optional(),
  /** Canonical CIDRs (src/policy/networks.ts) the client address must be in; absent = any address. */
  allowed_networks: z.array(z.string()).optional(),
  /** Label scope (src/policy/label-scope.ts): name → value, names sorted; absent = no scope. */
  labels: z.record(z.string(), z.string()).optional(),
});
export type TokenRecord = z.infer<typeof TokenRecord>;


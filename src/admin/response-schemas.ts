import { z } from "zod";
import { Tier as TierRow } from "../tokens/tier";
import { AccessLevel, ApiKeyAccess, AuditAction, AuditTargetType, DeploymentType, ExampleId, ExampleTab } from "../tokens/vocabulary";

/**
 * The JSON the management API answers with. The builders in the route modules are typed by
 * these schemas, and /admin/openapi.json is generated from them, so the document and the answers
 * cannot drift apart. Field names follow the VictoriaMetrics Cloud API where it has the object.
 */

const Time = z.iso.datetime().meta({ description: "RFC 3339, UTC", example: "2026-01-31T12:00:00.000Z" });

export const ErrorBody = z
  .object({
    error: z.string().meta({ description: "Stable code: invalid_request, unauthorized, forbidden, not_found, method_not_allowed, token_limit_reached, …" }),
    message: z.string().meta({ description: "One line: what happened and what to do. For invalid_request: `<field>: <rule>`." }),
    field: z.string().optional().meta({ description: "invalid_request: the field (dotted path) or query parameter concerned; `body` for the body as a whole." }),
    limit: z.number().int().optional().meta({ description: "token_limit_reached: the tier's access_token_limit." }),
  })
  .meta({ id: "Error" });

export const Tier = TierRow.meta({ id: "Tier" });
export type Tier = z.infer<typeof Tier>;

export const Deployment = z
  .object({
    id: z.string(),
    name: z.string(),
    type: DeploymentType,
    tier: z.number().int(),
    created_at: Time,
    status: z.literal("RUNNING"),
    access_endpoint: z.string().meta({ description: "Public URL of this Worker: the base of every data-plane URL." }),
    upstream_url: z.string().optional().meta({ description: "single_node only" }),
    insert_url: z.string().optional().meta({ description: "cluster only" }),
    select_url: z.string().optional().meta({ description: "cluster only" }),
  })
  .meta({ id: "Deployment" });
export type Deployment = z.infer<typeof Deployment>;

export const AccessToken = z
  .object({
    id: z.string(),
    value: z.string().meta({ description: "The secret: whole on create and reveal, its last 4 characters in a list (they tell tokens apart)." }),
    type: AccessLevel,
    description: z.string(),
    created_by: z.string().meta({ description: "Name of the API key that created it (`bootstrap` for ADMIN_API_KEY)." }),
    created_at: Time,
    tenant_id: z.string().optional().meta({ description: "cluster only: `accountID[:projectID]` the token is pinned to; omitted when empty." }),
    last_used_at: Time.optional().meta({ description: "Omitted when never used." }),
    expires_at: Time.optional().meta({ description: "From then on the token is refused (401 `expired_token`); omitted when it never expires. Lists show expired tokens until they are revoked." }),
    allowed_networks: z.array(z.string()).optional().meta({ description: "Canonical CIDRs the client address must be in; omitted: every address." }),
    labels: z.record(z.string(), z.string()).optional().meta({ description: "Label scope; omitted: none." }),
  })
  .meta({ id: "AccessToken" });
export type AccessToken = z.infer<typeof AccessToken>;

export const RotatedAccessToken = AccessToken.extend({
  replaces: z
    .object({ id: z.string(), expires_at: Time.meta({ description: "When the replaced token stops working: now + overlap, or its own earlier expiry." }) })
    .meta({ description: "The token this one replaces." }),
}).meta({ id: "RotatedAccessToken" });
export type RotatedAccessToken = z.infer<typeof RotatedAccessToken>;

export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    access: ApiKeyAccess,
    deployment_ids: z.array(z.string()).optional().meta({ description: "Deployments the key may see; omitted when it may see all, future ones included." }),
    expires_at: Time.optional().meta({ description: "Omitted when the key never expires." }),
    created_at: Time,
    created_by: z.string(),
    revoked_at: Time.optional().meta({ description: "Present once revoked." }),
  })
  .meta({ id: "ApiKey" });
export type ApiKey = z.infer<typeof ApiKey>;

export const CreatedApiKey = ApiKey.extend({
  value: z.string().meta({ description: "The key (`vmak_…`), shown only in this answer: it is stored as a hash and cannot be revealed again." }),
}).meta({ id: "CreatedApiKey" });
export type CreatedApiKey = z.infer<typeof CreatedApiKey>;

export const AuditEntry = z
  .object({
    id: z.number().int(),
    at: Time,
    request_id: z.string().meta({ description: "The request's x-request-id (cf-ray at the edge)." }),
    actor_id: z.string().meta({ description: "API key id, `bootstrap` for ADMIN_API_KEY." }),
    actor_name: z.string(),
    action: AuditAction,
    target_type: AuditTargetType,
    target_id: z.string(),
    deployment_id: z.string().optional().meta({ description: "The deployment concerned; omitted for API keys." }),
    detail: z.record(z.string(), z.unknown()).optional().meta({ description: "Non-secret facts: a token's type, the fields an update changed, …" }),
  })
  .meta({ id: "AuditEntry" });
export type AuditEntry = z.infer<typeof AuditEntry>;

export const ExampleSnippet = z
  .object({
    id: ExampleId,
    tab: ExampleTab,
    title: z.string(),
    language: z.enum(["shell", "yaml"]),
    filename: z.string().optional().meta({ description: "Where the snippet usually goes, for YAML." }),
    content: z.string().meta({ description: "Ready to paste: the secret and the URL are filled in." }),
  })
  .meta({ id: "ExampleSnippet" });
export type ExampleSnippet = z.infer<typeof ExampleSnippet>;

export const TokenExamples = z
  .object({
    token_id: z.string(),
    deployment_id: z.string(),
    deployment_type: DeploymentType,
    access: AccessLevel,
    tenant_id: z.string().optional(),
    write_url: z.string().optional().meta({ description: "Prometheus remote_write URL; present when the token may write." }),
    read_url: z.string().optional().meta({ description: "Prometheus query API base (a Grafana data source URL); present when the token may read." }),
    notes: z.array(z.string()),
    examples: z.array(ExampleSnippet),
  })
  .meta({ id: "TokenExamples" });
export type TokenExamples = z.infer<typeof TokenExamples>;

export const Explanation = z
  .object({
    decision: z.enum(["allowed", "refused"]),
    status: z.number().int().optional().meta({ description: "refused: the status the data path answers (401, 403, 404, …)." }),
    code: z.string().optional().meta({ description: "refused: the `error` code of the data path's answer." }),
    reason: z.string().optional().meta({ description: "refused: the one-line `message` of the data path's answer." }),
    request_class: z.enum(["read", "write", "delete"]).optional().meta({ description: "allowed: what kind of request this is." }),
    upstream_url: z.string().optional().meta({ description: "allowed: the exact URL the request is forwarded to (path rewritten, label scope applied)." }),
    path: z.string().optional().meta({ description: "allowed: the forwarded path." }),
    query: z.string().optional().meta({ description: "allowed: the forwarded query string with its `?`, or empty." }),
    tenant_id: z.string().optional().meta({ description: "allowed, cluster: the tenant the forwarded path addresses." }),
    body: z.enum(["forwarded", "rewritten"]).optional().meta({ description: "allowed: `rewritten` when a label-scoped read's urlencoded form body gets the token's scope too." }),
    not_checked: z
      .array(z.string())
      .meta({ description: "What only a real request can show: `concurrency_limit`, `body_size`, `upstream`; and `allowed_networks` when no `client_address` was given for a token that has them." }),
  })
  .meta({ id: "Explanation" });
export type Explanation = z.infer<typeof Explanation>;

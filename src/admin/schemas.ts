import { z } from "zod";
import { isValidTenantId, TENANT_ID_PATTERN, TENANT_ID_RULE, UINT32_MAX } from "../tokens/tenant-id";
import { AllowedNetworks, OverlapSeconds, TokenLabels } from "../tokens/token-policy";
import { AccessLevel, ApiKeyAccess, AuditAction, DeploymentType, TOKEN_DESCRIPTION_MAX } from "../tokens/vocabulary";

/**
 * Request bodies of the management API. Objects are strict (an unknown field is refused, not
 * ignored), and each rule reads as the second half of "<field>: <rule>".
 */

/** A tenant id; "" and null mean "no tenant" (clients that cannot omit a field send those). */
export const TenantId = z
  .string()
  .nullish()
  .transform((value, ctx) => {
    if (value === null || value === undefined || value === "") return undefined;
    if (!isValidTenantId(value)) {
      ctx.addIssue({ code: "custom", message: TENANT_ID_RULE });
      return z.NEVER;
    }
    return value;
  })
  .meta({ description: "`accountID` or `accountID:projectID`, each a uint32 without leading zeros; cluster only. Empty or null: no tenant.", pattern: TENANT_ID_PATTERN });

/**
 * An upstream base URL: absolute http(s), no credentials (they would end up in answers, KV and
 * the audit log), no query or fragment (the Worker appends the client's path and query).
 * Stored without trailing slashes so the data path can append a path as is.
 */
export const BaseUrl = z
  .string()
  .max(2048)
  .transform((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "must be an absolute http:// or https:// URL" });
      return z.NEVER;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      ctx.addIssue({ code: "custom", message: "must be an absolute http:// or https:// URL" });
      return z.NEVER;
    }
    if (url.username || url.password) {
      ctx.addIssue({ code: "custom", message: "must not contain credentials" });
      return z.NEVER;
    }
    if (url.search || url.hash || value.includes("?") || value.includes("#")) {
      ctx.addIssue({ code: "custom", message: "must not have a query string or fragment" });
      return z.NEVER;
    }
    return url.href.replace(/\/+$/, "");
  })
  .meta({ format: "uri", description: "Absolute http(s) base URL without credentials, query or fragment." });

/** C0 and C1 control characters and DEL: they corrupt tables, logs and YAML built from names. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** Free text shown to people: trimmed, not empty, no control characters. */
export function displayText(max: number) {
  return z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((v) => !CONTROL_CHARACTERS.test(v), { message: "must not contain control characters" })
    // A lone UTF-16 surrogate cannot be stored as UTF-8: D1 would keep mangled bytes.
    .refine((v) => v.isWellFormed(), { message: "must be well-formed Unicode (no lone surrogates)" });
}

const Name = displayText(128);
export const TierId = z.number().int().min(1).max(UINT32_MAX);

export const CreateSingleNodeDeployment = z.strictObject({
  name: Name,
  type: z.literal("single_node"),
  tier: TierId,
  upstream_url: BaseUrl,
});

export const CreateClusterDeployment = z.strictObject({
  name: Name,
  type: z.literal("cluster"),
  tier: TierId,
  insert_url: BaseUrl,
  select_url: BaseUrl,
});

export const CreateDeploymentBody = z.discriminatedUnion("type", [CreateSingleNodeDeployment, CreateClusterDeployment]);
export type CreateDeploymentBody = z.infer<typeof CreateDeploymentBody>;

/**
 * PUT changes the fields it names and keeps the others. `type` may be sent (a client that
 * writes back what it read does) but must equal the current type; the URLs must fit the type.
 */
export const UpdateDeploymentBody = z
  .strictObject({
    name: Name,
    type: DeploymentType,
    tier: TierId,
    upstream_url: BaseUrl,
    insert_url: BaseUrl,
    select_url: BaseUrl,
  })
  .partial();
export type UpdateDeploymentBody = z.infer<typeof UpdateDeploymentBody>;

/** An RFC 3339 time with a zone ("2026-01-31T00:00:00Z", "...+02:00"), as epoch milliseconds. */
export const Rfc3339 = z
  .string()
  .refine((v) => z.iso.datetime({ offset: true }).safeParse(v).success, { message: "must be an RFC 3339 time such as 2026-01-31T00:00:00Z" })
  .transform((v) => Date.parse(v))
  .meta({ format: "date-time" });

/**
 * POST …/access_tokens. The VictoriaMetrics Cloud client sends `type`, `description` and
 * `tenant_id`; the policies (issue 13) are optional, and null is the same as absent.
 */
export const CreateAccessTokenBody = z.strictObject({
  type: AccessLevel,
  description: displayText(TOKEN_DESCRIPTION_MAX),
  tenant_id: TenantId,
  expires_at: Rfc3339.nullish().meta({ description: "RFC 3339 time, in the future, from which the token is refused (401 `expired_token`). Omitted: never expires." }),
  allowed_networks: AllowedNetworks.nullish(),
  labels: TokenLabels.nullish(),
});
export type CreateAccessTokenBody = z.infer<typeof CreateAccessTokenBody>;

/**
 * POST …/access_tokens/{tokenId}/explain. `path` is the request target as a client sends it; any
 * string is judged (a non-path is refused as the data path refuses it), only its length is bounded.
 */
export const ExplainRequestBody = z.strictObject({
  method: z
    .string()
    .regex(/^[A-Za-z]{1,16}$/, { message: "must be an HTTP method such as GET or POST" })
    .transform((m) => m.toUpperCase())
    .meta({ description: "HTTP method, e.g. GET or POST (any case).", example: "GET" }),
  path: z
    .string()
    .min(1, { message: "must not be empty; send a path such as /api/v1/query?query=up" })
    .max(16384)
    .meta({ description: "The request target as a client sends it: path and query string, e.g. `/api/v1/query?query=up`. An absolute http(s) URL counts by its path and query.", example: "/api/v1/query?query=up" }),
  client_address: z
    .string()
    .min(1)
    .max(64)
    .nullish()
    .meta({ description: "The client address (what Cloudflare sends as CF-Connecting-IP) to judge the token's `allowed_networks` by. Omitted: the allowlist is not judged and `not_checked` says so." }),
  content_type: z
    .string()
    .max(256)
    .nullish()
    .meta({ description: "The request's Content-Type, for a label-scoped token's form-body reads. Omitted: none." }),
});
export type ExplainRequestBody = z.infer<typeof ExplainRequestBody>;

/** POST …/access_tokens/{tokenId}/rotate. */
export const RotateAccessTokenBody = z.strictObject({
  overlap_seconds: OverlapSeconds,
  expires_at: Rfc3339.nullish().meta({
    description: "The successor's expiry (RFC 3339, in the future). Omitted: the replaced token's lifetime counted again from now, or never if it had no expiry.",
  }),
});
export type RotateAccessTokenBody = z.infer<typeof RotateAccessTokenBody>;

/**
 * POST /api_keys. `deployment_ids` absent (or null) means every deployment, future ones
 * included; `expires_at` absent (or null) means the key never expires.
 */
export const CreateApiKeyBody = z.strictObject({
  name: Name,
  access: ApiKeyAccess,
  deployment_ids: z
    .array(z.string().min(1).max(64))
    .min(1, { message: "must list at least one deployment; omit it for all deployments" })
    .max(100)
    .refine((ids) => new Set(ids).size === ids.length, { message: "must not list a deployment twice" })
    .nullish(),
  expires_at: Rfc3339.nullish(),
});
export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBody>;

/** The `{id}` of a deployment path. Any string: an unknown or out-of-scope id answers 404. */
export const DeploymentId = z.string().meta({ description: "Deployment id" });

/** `?limit=` of every list: a decimal integer from 1 to 1000. */
export const Limit = z
  .string()
  .regex(/^[0-9]{1,4}$/, { message: "must be an integer from 1 to 1000" })
  .transform(Number)
  .refine((n) => n >= 1 && n <= 1000, { message: "must be an integer from 1 to 1000" })
  .meta({ description: "Page size, 1 to 1000. Without it the list is complete, except the audit log (100).", example: "100" });

/** `?cursor=`: the opaque value from the previous page's `Link: <…>; rel="next"`. */
export const Cursor = z.string().min(1).max(512).meta({ description: "Opaque position returned by the previous page (Link rel=next, X-Next-Cursor)." });

/** Query of every list except the audit log. Unknown parameters are refused, like unknown fields. */
export const PageQuery = z.strictObject({ limit: Limit.optional(), cursor: Cursor.optional() });
export type PageQuery = z.infer<typeof PageQuery>;


/** GET /audit: filters (all optional, combined with AND) and the page. */
export const AuditQuery = z.strictObject({
  deployment_id: z.string().min(1).max(64).optional().meta({ description: "Only entries about this deployment and its tokens." }),
  actor_id: z.string().min(1).max(64).optional().meta({ description: "Only entries by this API key id (`bootstrap` for ADMIN_API_KEY)." }),
  action: AuditAction.optional(),
  since: Rfc3339.optional().meta({ description: "Entries at or after this RFC 3339 time." }),
  until: Rfc3339.optional().meta({ description: "Entries before this RFC 3339 time." }),
  limit: Limit.optional(),
  cursor: Cursor.optional(),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

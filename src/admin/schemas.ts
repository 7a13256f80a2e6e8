import { z } from "zod";

/**
 * Request bodies of the management API. Objects are strict (an unknown field is refused, not
 * ignored), and each rule reads as the second half of "<field>: <rule>".
 */

const UINT32_MAX = 4294967295;

/** One part of a tenant id: a uint32 in canonical decimal ("0", "42"; not "042", not "4294967296"). */
export function isCanonicalUint32(part: string): boolean {
  return /^(0|[1-9]\d{0,9})$/.test(part) && Number(part) <= UINT32_MAX;
}

/** True for `accountID` or `accountID:projectID`, each a canonical uint32. */
export function isTenantId(value: string): boolean {
  if (!/^\d+(:\d+)?$/.test(value)) return false;
  return value.split(":").every(isCanonicalUint32);
}

/** A tenant id; "" and null mean "no tenant" (clients that cannot omit a field send those). */
export const TenantId = z
  .string()
  .nullish()
  .transform((value, ctx) => {
    if (value === null || value === undefined || value === "") return undefined;
    if (!/^\d+(:\d+)?$/.test(value)) {
      ctx.addIssue({ code: "custom", message: "must be <accountID> or <accountID>:<projectID>" });
      return z.NEVER;
    }
    if (!isTenantId(value)) {
      ctx.addIssue({ code: "custom", message: "each part must be a uint32 (0 to 4294967295) without leading zeros" });
      return z.NEVER;
    }
    return value;
  });

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
  });

const Name = z.string().trim().min(1).max(128);
export const TierId = z.number().int().min(1).max(UINT32_MAX);
export const DeploymentType = z.enum(["single_node", "cluster"]);

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

export const CreateAccessTokenBody = z.strictObject({
  type: z.enum(["r", "w", "rw"]),
  description: z.string().trim().min(1).max(256),
  tenant_id: TenantId,
});
export type CreateAccessTokenBody = z.infer<typeof CreateAccessTokenBody>;

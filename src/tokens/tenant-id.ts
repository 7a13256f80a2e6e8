/**
 * VictoriaMetrics cluster tenants: `accountID` or `accountID:projectID`, each a uint32. The one
 * rule, used at both trust boundaries: the data path (src/policy/route.ts) and the management
 * API's `tenant_id` (src/admin/schemas.ts).
 *
 * Only the canonical decimal spelling is accepted (no sign, no leading zeros except "0"), so one
 * tenant has exactly one spelling and nothing the cluster parses differently can slip through.
 * `multitenant` — the cluster's cross-tenant endpoint — is therefore never a tenant here.
 */
export const UINT32_MAX = 4294967295;

/** The shape: one or two canonical decimals (no sign, no leading zero), for OpenAPI as well. */
export const TENANT_ID_PATTERN = "^(0|[1-9][0-9]{0,9})(:(0|[1-9][0-9]{0,9}))?$";
const TENANT_ID = new RegExp(TENANT_ID_PATTERN);

/** The rule in words, completing "<tenant> …" or "tenant_id: …". */
export const TENANT_ID_RULE =
  "must be <accountID> or <accountID>:<projectID>; each part must be a uint32 (0 to 4294967295) without leading zeros";

export function isValidTenantId(tenant: string): boolean {
  return TENANT_ID.test(tenant) && tenant.split(":").every((part) => Number(part) <= UINT32_MAX);
}

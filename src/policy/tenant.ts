/**
 * VictoriaMetrics cluster tenants: `accountID` or `accountID:projectID`, each a uint32.
 * Only the canonical decimal spelling is accepted (no sign, no leading zeros except "0"), so one
 * tenant has exactly one spelling and nothing the cluster parses differently can slip through.
 * `multitenant` — the cluster's cross-tenant endpoint — is therefore never a tenant here.
 */
const UINT32_MAX = 4294967295;
const CANONICAL_DECIMAL = /^(?:0|[1-9][0-9]{0,9})$/;

function isUint32(text: string): boolean {
  return CANONICAL_DECIMAL.test(text) && Number(text) <= UINT32_MAX;
}

export function isValidTenantId(tenant: string): boolean {
  const parts = tenant.split(":");
  return parts.length <= 2 && parts.every(isUint32);
}

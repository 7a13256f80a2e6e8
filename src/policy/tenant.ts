/** The tenant rule of the data path is the token domain's, written once in src/tokens/tenant-id.ts. */
export { isValidTenantId, TENANT_ID_RULE } from "../tokens/tenant-id";

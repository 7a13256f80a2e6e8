/**
 * The words of the token domain as plain constants, with no import at all, so that code without
 * zod — the CLI (run by Node as is) and the console's browser script — can use them too.
 * vocabulary.ts makes them zod schemas; everything else takes them from there.
 */

export const ACCESS_LEVELS = ["r", "w", "rw"] as const;
export const DEPLOYMENT_TYPES = ["single_node", "cluster"] as const;
export const API_KEY_ACCESS = ["r", "rw"] as const;
export const AUDIT_ACTIONS = [
  "deployment.create",
  "deployment.update",
  "deployment.delete",
  "access_token.create",
  "access_token.reveal",
  "access_token.revoke",
  "access_token.rotate",
  "api_key.create",
  "api_key.revoke",
] as const;
export const AUDIT_TARGET_TYPES = ["deployment", "access_token", "api_key"] as const;
export const EXAMPLE_IDS = ["vmagent", "prometheus", "curl_write", "grafana", "curl_read"] as const;
/** The two groups of examples: what a token that may write, and one that may read, can use. */
export const EXAMPLE_TABS = ["write", "read"] as const;

/** The header the VictoriaMetrics Cloud API client and Terraform provider send the API key in. */
export const API_KEY_HEADER = "X-VM-Cloud-Access";

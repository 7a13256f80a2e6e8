import { ErrorBody } from "./response-schemas";

/**
 * Pieces every route definition shares: the error answers it may give, described once. The
 * API-key security requirement is declared for the whole document in src/admin/openapi.ts.
 */

const ERROR_DESCRIPTIONS = {
  400: "Invalid request: `message` is `<field>: <rule>`, `field` names the field. Nothing was written.",
  401: "Missing, unknown, revoked or expired API key (X-VM-Cloud-Access).",
  403: "The API key is read-only, or limited to some deployments, and this operation needs more.",
  404: "No such object, or one outside the API key's deployments (indistinguishable on purpose).",
  405: "Method not allowed on this object; the Allow header lists the ones that are.",
  409: "The deployment's tier allows no more access tokens (`limit` says how many).",
  413: "Request body over 64 KiB.",
  503: "A Worker secret (ADMIN_API_KEY, TOKEN_ENCRYPTION_KEY) is missing or malformed: `message` names it and how to set it. For a revoke or delete also: revoked in D1 but not yet at every edge, retry the same request to finish.",
} as const;

type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

type ErrorResponse = { description: string; content: { "application/json": { schema: typeof ErrorBody } } };

/** The `responses` entries of 401 and 503 (every authenticated route) and the given error statuses. */
export function errors<S extends ErrorStatus>(...statuses: S[]): { [K in S | 401 | 503]: ErrorResponse } {
  const out: Partial<Record<ErrorStatus, ErrorResponse>> = {};
  for (const status of [401, ...statuses, 503] as ErrorStatus[]) {
    out[status] = { description: ERROR_DESCRIPTIONS[status], content: { "application/json": { schema: ErrorBody } } };
  }
  return out as { [K in S | 401 | 503]: ErrorResponse };
}

/** Response headers of a list page (src/admin/pagination.ts). */
export const PAGE_HEADERS = {
  Link: { description: 'Present when more follow: `<URL of the next page>; rel="next"`.', schema: { type: "string" as const } },
  "X-Next-Cursor": { description: "Present when more follow: the `cursor` of the next page.", schema: { type: "string" as const } },
};

export const jsonContent = <S>(schema: S) => ({ "application/json": { schema } });

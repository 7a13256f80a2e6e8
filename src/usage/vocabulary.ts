import { z } from "zod";

/**
 * The vocabulary of per-token usage, defined once: the class of a request and the answer it got.
 * Every layer (isolate counters, the Durable Object's rows, the usage API, /admin/metrics, the
 * console) names classes and answers with these values. See docs/usage.md.
 *
 * Values are only ever appended: stored rows and scraped series name them.
 */

/** The policy's request classes (src/policy/types.ts), plus `other` for requests refused before they were classified. */
export const UsageClass = z.enum(["write", "read", "delete", "other"]);
export type UsageClass = z.infer<typeof UsageClass>;

/** The upstream's own answers, by status class (1xx counts as 2xx: the runtime never relays one as final). */
export const UpstreamAnswer = z.enum(["2xx", "3xx", "4xx", "5xx"]);
export type UpstreamAnswer = z.infer<typeof UpstreamAnswer>;

/**
 * Our own refusals. Each is the `error` code the client got (src/errors.ts and the policy's
 * `refuse(...)` codes), except that `unauthorized` is split into the three cases a client is
 * deliberately not told apart: the token's owner may see them.
 */
export const RefusalReason = z.enum([
  "unknown_token",
  "revoked_token",
  "expired_token",
  "too_many_failed_authentications",
  "insufficient_access",
  "tenant_required",
  "invalid_tenant",
  "tenant_in_path",
  "forbidden_path",
  "non_canonical_path",
  "unknown_path",
  "address_not_allowed",
  "label_scope_unsupported",
  "label_scope_form_body",
  "payload_too_large",
  "too_many_requests",
  "bad_gateway",
  "gateway_timeout",
  "storage_unavailable",
  "limiter_unavailable",
  "internal_error",
]);
export type RefusalReason = z.infer<typeof RefusalReason>;

/** Any answer a request can get: the upstream's, or one of ours. */
export const Answer = z.enum([...UpstreamAnswer.options, ...RefusalReason.options]);
export type Answer = z.infer<typeof Answer>;

/** The groups of the wording, for summaries (the console's chart legend). */
export type RefusalGroup =
  | "credential"
  | "throttle"
  | "access level"
  | "tenant"
  | "forbidden path"
  | "not an API"
  | "address"
  | "label scope"
  | "body too large"
  | "concurrency limit"
  | "upstream unreachable"
  | "timeout"
  | "storage unavailable"
  | "internal error";

/** The status each refusal answers with, and its group. */
export const REFUSALS: Readonly<Record<RefusalReason, { status: number; group: RefusalGroup }>> = Object.freeze({
  unknown_token: { status: 401, group: "credential" },
  revoked_token: { status: 401, group: "credential" },
  expired_token: { status: 401, group: "credential" },
  too_many_failed_authentications: { status: 429, group: "throttle" },
  insufficient_access: { status: 403, group: "access level" },
  tenant_required: { status: 403, group: "tenant" },
  invalid_tenant: { status: 403, group: "tenant" },
  tenant_in_path: { status: 403, group: "tenant" },
  forbidden_path: { status: 403, group: "forbidden path" },
  non_canonical_path: { status: 403, group: "forbidden path" },
  unknown_path: { status: 404, group: "not an API" },
  address_not_allowed: { status: 403, group: "address" },
  label_scope_unsupported: { status: 403, group: "label scope" },
  label_scope_form_body: { status: 403, group: "label scope" },
  payload_too_large: { status: 413, group: "body too large" },
  too_many_requests: { status: 429, group: "concurrency limit" },
  bad_gateway: { status: 502, group: "upstream unreachable" },
  gateway_timeout: { status: 504, group: "timeout" },
  storage_unavailable: { status: 503, group: "storage unavailable" },
  limiter_unavailable: { status: 503, group: "storage unavailable" },
  internal_error: { status: 500, group: "internal error" },
});

/**
 * Refusals that happen before any token is identified (no credential or an unknown one, a
 * throttled address, the token lookup failing). They can be counted only against no token; see
 * docs/usage.md for where they go.
 */
export const UNATTRIBUTED_REFUSALS: ReadonlySet<RefusalReason> = new Set(["unknown_token", "too_many_failed_authentications", "storage_unavailable"]);

export function upstreamAnswerOf(status: number): UpstreamAnswer {
  if (status < 300) return "2xx";
  if (status < 400) return "3xx";
  if (status < 500) return "4xx";
  return "5xx";
}

const REASON_BY_CODE: ReadonlyMap<string, RefusalReason> = new Map(RefusalReason.options.map((r) => [r, r]));

/**
 * The refusal reason of an error code the data plane answered with. `unauthorized` needs the
 * caller's knowledge (`credential`): unknown, revoked or expired. An unknown code counts as
 * `internal_error`, so nothing goes uncounted (a test keeps the vocabulary in step with src/).
 */
export function refusalReasonOf(code: string, credential: "unknown" | "revoked" | "expired" = "unknown"): RefusalReason {
  if (code === "unauthorized") return `${credential}_token`;
  return REASON_BY_CODE.get(code) ?? "internal_error";
}

/** True for an answer that is one of our refusals rather than the upstream's. */
export function isRefusal(answer: Answer): answer is RefusalReason {
  return REASON_BY_CODE.has(answer);
}

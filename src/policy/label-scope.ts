import { canonicalSegments } from "./canonical";
import { LABEL_SCOPE_ENDPOINTS, type EndpointScope } from "./label-scope-endpoints";
import { extraLabelArgs, formBodyHandling, withoutWideningArgs } from "./query-args";
import { refuse, type Refusal } from "./types";
import { matchRoute, tenantPrefixOf } from "./url-map";

export { MAX_SCOPED_FORM_BODY_BYTES, scopeFormBody } from "./query-args";

/**
 * Label-scoped tokens (`labels: {"team": "payments"}`): validation at creation, and the per-request
 * decision of what to forward. Decisions (docs/policy.md, "Label scope and address allowlists"):
 *
 * - Writes: the forwarded query string carries `extra_label=<name>=<value>` for every label.
 *   VictoriaMetrics appends these after the sample's own labels and keeps the last value of a
 *   duplicate name, so a client's conflicting value is overridden.
 * - Reads: the same `extra_label` arguments, never `extra_filters[]` — VictoriaMetrics ANDs every
 *   `extra_label` into every alternative of the selection, while `extra_filters` alternatives are
 *   ORed, so only `extra_label` stays a restriction whatever else reaches `r.Form`.
 * - Whatever the client sent as `extra_label`, `extra_filters`, `extra_filters[]` (any escaping,
 *   any case) is dropped from the query string; on vmselect endpoints an urlencoded form body is
 *   rewritten the same way and a multipart body refused (see query-args.ts).
 * - Endpoints where VictoriaMetrics ignores these arguments, or that 1.79.5 does not serve, are
 *   refused with 403 (label-scope-endpoints.ts).
 */

export const MAX_TOKEN_LABELS = 8;
export const MAX_LABEL_NAME_LENGTH = 128;
/** In UTF-16 code units; well under VictoriaMetrics' own label value limits. */
export const MAX_LABEL_VALUE_LENGTH = 256;

/** A token's labels in canonical form: names sorted, validated. What the token record stores. */
export type TokenLabels = Readonly<Record<string, string>>;

export type LabelsResult = { ok: true; labels: TokenLabels } | { ok: false; reason: string };

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED = new Set(["vm_account_id", "vm_project_id"]);
/** C0 controls, DEL and C1 controls. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Validate the `labels` of a new token. Reasons start with the field: `labels.team: ...`. */
export function parseTokenLabels(input: unknown): LabelsResult {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, reason: 'labels: must be an object of label names to values, such as {"team": "payments"}.' };
  }
  const names = Object.keys(input).sort();
  if (names.length === 0) return { ok: false, reason: "labels: must hold at least one label; omit the field for a token without label scope." };
  if (names.length > MAX_TOKEN_LABELS) return { ok: false, reason: `labels: at most ${MAX_TOKEN_LABELS} labels, got ${names.length}.` };
  const labels: Record<string, string> = {};
  for (const name of names) {
    const problem = nameProblem(name) ?? valueProblem((input as Record<string, unknown>)[name]);
    if (problem) return { ok: false, reason: `labels.${shownName(name)}: ${problem}` };
    labels[name] = (input as Record<string, string>)[name]!;
  }
  return { ok: true, labels };
}

function nameProblem(name: string): string | undefined {
  if (name.length > MAX_LABEL_NAME_LENGTH) return `label names are at most ${MAX_LABEL_NAME_LENGTH} characters.`;
  if (!LABEL_NAME.test(name)) return "is not a Prometheus label name (letters, digits and _, not starting with a digit).";
  if (name.startsWith("__")) return "names starting with __ are reserved (__name__ and VictoriaMetrics' internal labels).";
  if (RESERVED.has(name)) return "is reserved: VictoriaMetrics uses it for tenants.";
  return undefined;
}

function valueProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return "the value must be a string.";
  if (value === "") return "the value must not be empty (an empty value means the label is absent).";
  if (value.length > MAX_LABEL_VALUE_LENGTH) return `the value is longer than ${MAX_LABEL_VALUE_LENGTH} characters.`;
  if (CONTROL.test(value)) return "the value must not contain control characters.";
  if (LONE_SURROGATE.test(value)) return "the value is not valid Unicode text.";
  return undefined;
}

/** A label name as echoed in a reason: at most 48 safe characters. */
function shownName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_]/g, "?");
  return safe.length > 48 ? `${safe.slice(0, 48)}...` : safe;
}

// ---------------------------------------------------------------------------------------------
// Per request

export type LabelScopeDecision =
  | {
      ok: true;
      /** The query string to forward, with its `?` (or "" when there is none). */
      search: string;
      /** What to do with the body: see FormBodyHandling in query-args.ts (never "refuse" here). */
      body: "forward" | "rewrite";
    }
  | Refusal;

/** Recently looked-up paths: matching the URL map again costs microseconds; bounded, cleared when full. */
const scopeCache = new Map<string, EndpointScope | undefined>();
const SCOPE_CACHE_SIZE = 512;

/** The scope row for a forwarded path (an accepted RouteDecision's `path`), or undefined if it is no API path. */
export function endpointScope(forwardedPath: string): EndpointScope | undefined {
  if (scopeCache.has(forwardedPath)) return scopeCache.get(forwardedPath);
  const scope = lookUpScope(forwardedPath);
  if (scopeCache.size >= SCOPE_CACHE_SIZE) scopeCache.clear();
  scopeCache.set(forwardedPath, scope);
  return scope;
}

function lookUpScope(forwardedPath: string): EndpointScope | undefined {
  const canonical = canonicalSegments(forwardedPath);
  if (!canonical.ok) return undefined;
  const prefix = tenantPrefixOf(canonical.segments);
  const match = prefix ? matchRoute(prefix.rest, "cluster", prefix.component) : matchRoute(canonical.segments, "single");
  if (!match) return undefined;
  return LABEL_SCOPE_ENDPOINTS[match.route.cluster] ?? { kind: "refuse", why: "has not been checked for label scope" };
}

/**
 * For a label-scoped token and an accepted route: the query string to forward (client widening
 * arguments dropped, the token's `extra_label`s appended) and what to do with the body — or a 403
 * when the endpoint cannot be scoped or the body is a form we do not rewrite.
 *
 * `forwardedPath` is RouteDecision.path; `rawQuery` is the request's query string as sent (with or
 * without `?`); `contentType` is the request's Content-Type header.
 */
export function scopeRequest(labels: TokenLabels, forwardedPath: string, rawQuery: string, contentType: string | null | undefined): LabelScopeDecision {
  if (Object.keys(labels).length === 0) throw new Error("scopeRequest: a token without labels has no label scope");
  const scope = endpointScope(forwardedPath);
  if (!scope || scope.kind === "refuse") {
    const why = scope?.why ?? "is not an API path this policy knows";
    return refuse(403, "label_scope_unsupported", `This token is label-scoped, and this endpoint ${why}; label-scoped tokens may use the Prometheus query, series, labels, export and ingestion APIs.`);
  }
  let body: "forward" | "rewrite" = "forward";
  if (scope.kind === "select") {
    const handling = formBodyHandling(contentType);
    if (handling === "refuse") {
      return refuse(403, "label_scope_form_body", "This token is label-scoped: send query arguments in the URL or as an application/x-www-form-urlencoded body, not as multipart/form-data.");
    }
    body = handling;
  }
  const kept = withoutWideningArgs(rawQuery);
  const query = [...(kept === "" ? [] : [kept]), ...extraLabelArgs(labels)].join("&");
  return { ok: true, search: query === "" ? "" : `?${query}`, body };
}

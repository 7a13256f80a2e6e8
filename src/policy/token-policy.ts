import { type LabelScopeDecision, scopeRequest, type TokenLabels } from "./label-scope";
import { checkClientAddress, type CompiledNetworks, compileNetworks } from "./networks";
import type { Refusal } from "./types";

/**
 * The per-request side of a token's policies (issue 13), for the data path: its address allowlist
 * and its label scope. Both are pure; the caller passes what the edge vouches for.
 *
 * Order in the data path: the allowlist right after authentication (an outsider learns nothing
 * about routes), the label scope after the route is authorized (it needs the forwarded path),
 * both before the permit, so a refused request costs no Durable Object call.
 */

/** Compiled allowlists by the record's array: a cached TokenRecord compiles once per isolate. */
const compiled = new WeakMap<readonly string[], CompiledNetworks>();

/**
 * Undefined when the token has no allowlist or `clientIp` is inside it; else a 403 naming the
 * address. `clientIp` must be `CF-Connecting-IP` — never `X-Forwarded-For` or anything a client
 * can set.
 */
export function checkAllowedNetworks(networks: readonly string[] | undefined, clientIp: string | null | undefined): Refusal | undefined {
  if (networks === undefined) return undefined;
  let networksCompiled = compiled.get(networks);
  if (!networksCompiled) {
    networksCompiled = compileNetworks(networks);
    compiled.set(networks, networksCompiled);
  }
  return checkClientAddress(networksCompiled, clientIp);
}

/**
 * What to forward for this token: the query string as sent and the body untouched when it has no
 * label scope; else scopeRequest's answer (its `extra_label`s appended, client widening arguments
 * dropped, the form body to rewrite) or its 403.
 */
export function scopeForToken(
  labels: TokenLabels | undefined,
  forwardedPath: string,
  rawQuery: string,
  contentType: string | null | undefined,
): LabelScopeDecision {
  if (labels === undefined) return { ok: true, search: rawQuery === "" || rawQuery.startsWith("?") ? rawQuery : `?${rawQuery}`, body: "forward" };
  return scopeRequest(labels, forwardedPath, rawQuery, contentType);
}

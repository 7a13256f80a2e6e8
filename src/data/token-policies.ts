import { HttpError, payloadTooLarge } from "../errors";
import { MAX_SCOPED_FORM_BODY_BYTES, scopeFormBody } from "../policy/label-scope";
import { checkAllowedNetworks, scopeForToken } from "../policy/token-policy";
import type { TokenRecord } from "../store/token-record";
import type { Route } from "./authorize";

/**
 * A token's policies in the data path (issue 13); the decisions are pure policy
 * (src/policy/token-policy.ts), this turns them into HTTP and rewrites what must be rewritten.
 * No I/O but reading a small form body a label-scoped read sends.
 */

/**
 * Step 3a: the client address against the token's allowlist. Only `CF-Connecting-IP`, which
 * Cloudflare's edge sets itself — never `X-Forwarded-For` or another header a client controls.
 */
export function refuseOutsideAllowlist(record: TokenRecord, headers: Headers): void {
  const refusal = checkAllowedNetworks(record.allowed_networks, headers.get("cf-connecting-ip"));
  if (refusal) throw new HttpError(refusal.status, refusal.code, refusal.reason);
}

/** What to forward once a token's label scope is applied: the request (body rewritten if need be) and its query string. */
export interface Scoped {
  request: Request;
  search: string;
}

/**
 * Step 5a: a label-scoped token's `extra_label`s on the forwarded query string, client widening
 * arguments dropped — from the query string and, for reads, from an urlencoded form body (read
 * whole, at most MAX_SCOPED_FORM_BODY_BYTES: 413 beyond). A token without labels forwards the
 * request and query string as they came.
 */
export async function applyLabelScope(record: TokenRecord, request: Request, route: Route, rawQuery: string): Promise<Scoped> {
  const decision = scopeForToken(record.labels, route.path, rawQuery, request.headers.get("content-type"));
  if (!decision.ok) throw new HttpError(decision.status, decision.code, decision.reason);
  if (decision.body === "forward" || request.body === null || request.method === "GET" || request.method === "HEAD") {
    return { request, search: decision.search };
  }
  const body = scopeFormBody(await readSmallBody(request, MAX_SCOPED_FORM_BODY_BYTES));
  const headers = new Headers(request.headers);
  headers.delete("content-length");
  return { request: new Request(request.url, { method: request.method, headers, body, signal: request.signal }), search: decision.search };
}

/** The whole body, or 413 once it passes `max` bytes (declared or counted). */
async function readSmallBody(request: Request, max: number): Promise<Uint8Array> {
  const tooLarge = () => payloadTooLarge(`A label-scoped token's form body is read whole, at most ${max} bytes: send the query arguments in the URL or a smaller body.`);
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > max) throw tooLarge();
  const reader = request.body!.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

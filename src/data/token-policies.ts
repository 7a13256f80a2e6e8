import { payloadTooLarge } from "../errors";
import { MAX_SCOPED_FORM_BODY_BYTES, scopeFormBody } from "../policy/label-scope";
import type { Decision } from "./decision";

/**
 * The one part of a token's policies (issue 13) that is not a pure decision: a label-scoped read
 * sending its query as an urlencoded form body gets that body rewritten like the query string.
 * The decision itself (allowlist, label scope) is decide() in decision.ts.
 */

/**
 * Step 5a's I/O: the request as it came, or, when the decision says "rewrite", with its form body
 * read whole (at most MAX_SCOPED_FORM_BODY_BYTES: 413 beyond) and scoped.
 */
export async function withScopedBody(request: Request, decision: Decision): Promise<Request> {
  if (decision.body === "forward" || request.body === null || request.method === "GET" || request.method === "HEAD") return request;
  const body = scopeFormBody(await readSmallBody(request, MAX_SCOPED_FORM_BODY_BYTES));
  const headers = new Headers(request.headers);
  headers.delete("content-length");
  return new Request(request.url, { method: request.method, headers, body, signal: request.signal });
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

/**
 * Content negotiation for the data path: which content codings the *client* accepts, and whether
 * an upstream answer's coding is one of them. Pure apart from reading the request.
 *
 * The runtime rewrites a request's `Accept-Encoding` before the Worker sees it (at the edge to
 * Cloudflare's own set; miniflare to `br, gzip`), so the header is not what the client sent. What
 * the client sent is `request.cf.clientAcceptEncoding`: set at the edge, and set by miniflare
 * (what `npm start`, the e2e harness and the benchmarks run) to the client's header, or "" when
 * it sent none. Only where there is no `cf` object at all (in-isolate tests) is the header used.
 */

export function clientAcceptEncoding(request: Request): string {
  const cf = request.cf as { clientAcceptEncoding?: unknown } | undefined;
  if (cf === undefined) return request.headers.get("accept-encoding") ?? "";
  // With a cf object, a missing field means nothing known: identity, which every client reads
  // (and which the edge compresses itself for a client that accepts it).
  return typeof cf.clientAcceptEncoding === "string" ? cf.clientAcceptEncoding : "";
}

/** The `Accept-Encoding` to send upstream: the client's own, or `identity` when it named none. */
export function upstreamAcceptEncoding(clientHeader: string): string {
  return clientHeader.trim() === "" ? "identity" : clientHeader;
}

/**
 * True when a client that sent `acceptEncoding` can read a body in `contentEncoding` (RFC 9110
 * §12.5.3: a listed coding with q > 0, or `*` with q > 0 when the coding is not listed; `x-gzip`
 * is gzip). Identity is always acceptable unless refused outright; a body encoded twice
 * (`gzip, br`) is acceptable only if every coding is.
 */
export function acceptsEncoding(acceptEncoding: string, contentEncoding: string): boolean {
  const codings = contentEncoding.split(",").map(normal).filter((c) => c !== "" && c !== "identity");
  if (codings.length === 0) return true;
  const weights = parseAccept(acceptEncoding);
  return codings.every((c) => (weights.get(c) ?? weights.get("*") ?? 0) > 0);
}

function parseAccept(header: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const element of header.split(",")) {
    const [name = "", ...params] = element.split(";");
    const coding = normal(name);
    if (coding === "") continue;
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split("=");
      if (k?.trim().toLowerCase() === "q") q = Number(v?.trim());
    }
    weights.set(coding, Number.isFinite(q) ? q : 0);
  }
  return weights;
}

function normal(coding: string): string {
  const c = coding.trim().toLowerCase();
  return c === "x-gzip" ? "gzip" : c;
}

/** The formats `DecompressionStream` reads, by content coding; `deflate` in HTTP is zlib. */
const DECODABLE: Record<string, "gzip" | "deflate"> = { gzip: "gzip", "x-gzip": "gzip", deflate: "deflate" };

/** How to turn a body in `contentEncoding` into identity, or undefined when the runtime cannot. */
export function decoderFor(contentEncoding: string): "gzip" | "deflate" | undefined {
  return DECODABLE[contentEncoding.trim().toLowerCase()];
}

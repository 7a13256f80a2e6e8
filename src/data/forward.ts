import { badGateway, gatewayTimeout, payloadTooLarge } from "../errors";
import type { Permit } from "../limiter/permit-result";
import type { Route } from "./authorize";
import { upstreamUrlOf } from "./decision";
import { acceptsEncoding, clientAcceptEncoding, decoderFor, upstreamAcceptEncoding } from "./encoding";

/**
 * Steps 7 and 8: stream the request to the upstream and its answer back. Bodies are never
 * buffered; the permit is released when the response body has been fully sent or the transfer
 * dies (client abort, upstream reset), never merely when headers arrive.
 */

/** Request headers never sent upstream: credentials, hop-by-hop, and tenant-selecting input. */
const DROPPED_REQUEST_HEADERS = new Set([
  "authorization",
  "cookie",
  "host",
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "accountid",
  "projectid",
]);

const DROPPED_RESPONSE_HEADERS = new Set(["connection", "keep-alive", "transfer-encoding", "trailer", "upgrade", "proxy-connection"]);

/** The part of the execution context the data path needs. */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

export interface ForwardLimits {
  maxBodyBytes: number;
  timeoutMs: number;
}

/**
 * Told, once the transfer is over, a chunked upload's bytes (counted where its chunks pass anyway)
 * and the answer's bytes as `relay()` relayed them. A request body with a Content-Length is left
 * to the caller, which reads the header.
 */
export type StreamedBytes = (requestBytes: number, responseBytes: number) => void;

export async function forward(
  request: Request,
  route: Route,
  rawQuery: string,
  permit: Permit,
  limits: ForwardLimits,
  ctx: WaitUntil,
  streamed?: StreamedBytes,
): Promise<Response> {
  let handedOff = false;
  const deadline = new Deadline(limits.timeoutMs);
  try {
    // A GET or HEAD goes upstream without a body: fetch refuses one, and no VictoriaMetrics API
    // reads it. Forwarding the request without it is what a plain HTTP proxy would do.
    const body = request.method === "GET" || request.method === "HEAD" ? null : request.body;
    const declared = body ? request.headers.get("content-length") : null;
    if (declared !== null && Number(declared) > limits.maxBodyBytes) throw tooLarge(limits);

    // A declared length is enforced by the runtime itself; only a chunked upload needs counting.
    const upload = body && declared === null ? limitBody(body, limits.maxBodyBytes) : undefined;
    const accepted = clientAcceptEncoding(request);
    const outgoing: RequestInit = {
      method: request.method,
      headers: upstreamHeaders(request.headers, accepted, body !== null),
      body: upload ? upload.stream : body,
      redirect: "manual",
      signal: deadline.signal,
      // The body as the upstream encoded it: no gunzip here and gzip again on the way out (the
      // upstream is asked only for codings the client accepts). An option of fetch itself: a
      // Request object does not carry it, and wrapping the request in one re-wraps the upload
      // (measured: about twice the latency of an import at one connection).
      encodeResponseBody: "manual",
    };
    const upstream = await fetchUpstream(upstreamUrlOf(route, rawQuery), outgoing, deadline, limits, () => upload?.exceeded() === true);

    const headers = new Headers();
    for (const [name, value] of upstream.headers) {
      if (!DROPPED_RESPONSE_HEADERS.has(name)) headers.append(name, value);
    }
    // A HEAD answer carries no body. The runtime drops the body of a response to HEAD without
    // reading or cancelling it, so a relayed one would never end and its permit never return.
    if (!upstream.body || request.method === "HEAD") {
      upstream.body?.cancel().catch(() => undefined);
      if (upload) streamed?.(upload.bytes(), 0);
      return new Response(null, responseInit(upstream, headers));
    }

    const readable = decodeIfUnaccepted(upstream.body, headers, accepted);
    const length = headers.get("content-length");
    const relayed = relay(readable, length, route.path, deadline);
    const response = new Response(relayed.stream, responseInit(upstream, headers));
    ctx.waitUntil(
      relayed.ended.finally(() => {
        permit.release();
        // Response bytes are counted here for every body, once it is over: the response the client
        // gets from a runtime pipe carries no Content-Length header to count by.
        streamed?.(upload?.bytes() ?? 0, relayed.bytes());
      }),
    );
    handedOff = true;
    return response;
  } finally {
    if (!handedOff) {
      deadline.clear();
      permit.release();
    }
  }
}

/**
 * "manual" only for a body that is encoded already: it is sent as is. An identity body stays
 * "automatic", so whatever compresses for the client afterwards really encodes it (Cloudflare's
 * edge; locally miniflare, which sets Content-Encoding on the Worker's answer and leaves the
 * encoding to the runtime; "manual" would tell the runtime the bytes are encoded already).
 */
function responseInit(upstream: Response, headers: Headers): ResponseInit {
  const encodeBody = headers.has("content-encoding") ? "manual" : "automatic";
  return { status: upstream.status, statusText: upstream.statusText, headers, encodeBody };
}

/**
 * The one timer of a request. It bounds the wait for the upstream's headers together with the
 * delivery of a piped body, or, re-armed, watches a long stream (an export) for upstream silence;
 * firing aborts `signal`, which the upstream fetch and the body's pipe both observe.
 */
class Deadline {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  fired = false;
  /** Called once when the timer fires (after the signal aborted). */
  onFire: (() => void) | undefined;

  constructor(readonly ms: number) {
    this.arm(() => this.fire());
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  arm(onTimeout: () => void): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(onTimeout, this.ms);
  }

  fire(): void {
    this.fired = true;
    this.controller.abort(new Error("upstream timed out"));
    this.onFire?.();
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Bodies of a known length up to this size are piped by the runtime on every route (see `relay`). */
const NATIVE_RELAY_MAX_BYTES = 1024 * 1024;

/**
 * The APIs whose answer legitimately streams for longer than a request's timeout: exports of raw
 * samples (`-search.maxExportDuration` in VictoriaMetrics is hours) and federation. Matched on the
 * forwarded path, which ends with the API's own suffix on every deployment type.
 */
const LONG_STREAM = /\/(?:api\/v1\/export(?:\/csv|\/native)?|federate)$/;

/**
 * Relays the upstream body to the client and says when the transfer is over, however it ends:
 * delivered to the end, upstream reset, upstream stalled, or the client went away (the runtime
 * cancels the stream, which fails the pipe). The permit is released on `ended`.
 *
 * - Every body but a long stream (below) is piped by the runtime into a `FixedLengthStream` (known
 *   length) or an `IdentityTransformStream` (chunked): no JavaScript per chunk. Headers and body
 *   together must be delivered within the timeout of the request being sent, whatever the reason
 *   they are not (upstream silent, or a client reading slower than the answer's size ÷ timeout).
 *   VictoriaMetrics writes a query's answer once it has computed it, unlike an export, which it
 *   streams as it reads the data.
 * - An export or federation answer (LONG_STREAM) of unknown length or over NATIVE_RELAY_MAX_BYTES
 *   is relayed by `watchedRelay`: an upstream silent mid-body for one to two timeout periods is
 *   cut; a client that reads slowly never is.
 *
 * This is the one place every response body passes. `bytes()` is what it relayed, for usage: the
 * length of a piped body of known length, the count of the watched relay, 0 for a piped chunked one.
 */
function relay(body: ReadableStream<Uint8Array>, contentLength: string | null, path: string, deadline: Deadline) {
  const length = contentLength === null ? NaN : Number(contentLength);
  const known = Number.isSafeInteger(length) && length >= 0;
  if ((known && length <= NATIVE_RELAY_MAX_BYTES) || !LONG_STREAM.test(path)) {
    // The timer of the headers keeps running: it now bounds the whole transfer.
    const pipe = known ? new FixedLengthStream(length) : new IdentityTransformStream();
    const ended = new Promise<void>((end) => {
      // Over for the permit when the pipe ends, or when the timer fires even if the pipe has not
      // noticed yet (a pipe blocked on a client that reads nothing).
      deadline.onFire = end;
      body.pipeTo(pipe.writable, { signal: deadline.signal }).then(end, end);
    }).then(() => deadline.clear());
    // A chunked answer the runtime pipes is not counted: counting it would put JavaScript back on every chunk.
    return { stream: pipe.readable, ended, bytes: () => (known ? length : 0) };
  }
  return watchedRelay(body, deadline);
}

/**
 * The JavaScript relay for long streams: one `read` per chunk and nothing else per chunk; the
 * request's timer, re-armed every timeout period, cuts the transfer when a read has been pending
 * for a whole period with no chunk arriving. (A pipe cannot tell an upstream gone silent from a
 * client reading slowly without JavaScript per chunk; only the whole-transfer timer can cut it.)
 */
function watchedRelay(body: ReadableStream<Uint8Array>, deadline: Deadline) {
  const reader = body.getReader();
  let chunks = 0;
  let seen = 0;
  let bytes = 0; // relayed, for per-token usage
  let reading = false;
  let finish!: () => void;
  const ended = new Promise<void>((resolve) => (finish = resolve)).then(() => deadline.clear());
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const watch = () => {
        if (reading && chunks === seen) {
          const stalled = new Error("upstream body stalled");
          controller.error(stalled);
          reader.cancel(stalled).catch(() => undefined);
          return finish();
        }
        seen = chunks;
        deadline.arm(watch);
      };
      deadline.arm(watch);
    },
    async pull(controller) {
      reading = true;
      try {
        const chunk = await reader.read();
        reading = false;
        if (chunk.done) {
          controller.close();
          finish();
        } else {
          chunks++;
          bytes += chunk.value.byteLength;
          controller.enqueue(chunk.value);
        }
      } catch (err) {
        reading = false;
        try {
          controller.error(err);
        } catch {
          // already errored by the watchdog
        }
        finish();
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason).catch(() => undefined);
    },
  });
  return { stream, ended, bytes: () => bytes };
}

/**
 * The body as the client can read it: as sent when the client accepts its coding (the upstream
 * was asked only for codings the client accepts, so this is the rule), decoded when the upstream
 * used another coding the runtime can decode. A coding neither is refused by the caller's 502.
 */
function decodeIfUnaccepted(body: ReadableStream<Uint8Array>, headers: Headers, accepted: string): ReadableStream<Uint8Array> {
  const coding = headers.get("content-encoding");
  if (coding === null || acceptsEncoding(accepted, coding)) return body;
  const format = decoderFor(coding);
  if (!format) {
    body.cancel().catch(() => undefined);
    throw badGateway(`The deployment answered in the content coding '${coding.slice(0, 32)}', which this client does not accept: send Accept-Encoding with it, or none.`);
  }
  headers.delete("content-encoding");
  headers.delete("content-length");
  return body.pipeThrough(new DecompressionStream(format));
}

function upstreamHeaders(incoming: Headers, acceptEncoding: string, withBody: boolean): Headers {
  const out = new Headers();
  const connection = incoming.get("connection");
  const connectionListed = connection === null ? undefined : new Set(connection.split(",").map((h) => h.trim().toLowerCase()));
  for (const [name, value] of incoming) {
    if (DROPPED_REQUEST_HEADERS.has(name) || name.startsWith("cf-") || connectionListed?.has(name)) continue;
    out.append(name, value);
  }
  if (!withBody) out.delete("content-length");
  out.set("accept-encoding", upstreamAcceptEncoding(acceptEncoding));
  return out;
}

/** Counts bytes as they stream and fails the upload once it passes the limit. */
function limitBody(body: ReadableStream<Uint8Array>, maxBytes: number) {
  let seen = 0;
  let over = false;
  const stream = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > maxBytes) {
          over = true;
          controller.error(new Error("request body over the limit"));
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
  return { stream, exceeded: () => over, bytes: () => seen };
}

/**
 * workerd's refusals to send a request at all (a TypeError, where a failed connection is an Error
 * such as "Network connection lost."): raised before the upstream was contacted, so never the
 * deployment's fault. The client-caused one (a GET or HEAD with a body) is prevented above.
 */
const NOT_SENT = /^(Request with a GET or HEAD method cannot have a body|Invalid HTTP method|Invalid header|Invalid URL|Fetch API cannot load)/;

/**
 * The upstream's answer (headers) within the timeout; our failures to get it as 413, 504 or 502.
 * A request the runtime refused to send is rethrown as our own error (a logged 500 that blames no
 * deployment).
 */
async function fetchUpstream(url: string, init: RequestInit, deadline: Deadline, limits: ForwardLimits, uploadExceeded: () => boolean): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (uploadExceeded()) throw tooLarge(limits);
    if (deadline.fired) {
      throw gatewayTimeout(`The deployment did not answer within ${limits.timeoutMs / 1000} s: retry later; if it persists, check the deployment's health.`);
    }
    if (err instanceof TypeError && NOT_SENT.test(err.message)) throw new Error(`upstream request not sent: ${err.message}`);
    throw badGateway("The deployment could not be reached: retry later; if it persists, check the deployment's URL and health.");
  }
}

function tooLarge(limits: ForwardLimits) {
  return payloadTooLarge(`Request body is larger than ${limits.maxBodyBytes} bytes: send smaller batches.`);
}

import { badGateway, gatewayTimeout, payloadTooLarge } from "../errors";
import type { Permit } from "../limiter/permit-pool";
import type { Route } from "./authorize";

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

export async function forward(
  request: Request,
  route: Route,
  rawQuery: string,
  permit: Permit,
  limits: ForwardLimits,
  ctx: WaitUntil,
): Promise<Response> {
  let handedOff = false;
  try {
    const declared = request.headers.get("content-length");
    if (declared !== null && Number(declared) > limits.maxBodyBytes) throw tooLarge(limits);

    // A declared length is enforced by the runtime itself; only a chunked upload needs counting.
    const upload = request.body && declared === null ? limitBody(request.body, limits.maxBodyBytes) : undefined;
    const upstream = await fetchWithTimeout(
      upstreamUrl(route, rawQuery),
      {
        method: request.method,
        headers: upstreamHeaders(request.headers),
        body: upload ? upload.stream : request.body,
        redirect: "manual",
        // Bodies pass through as the upstream encoded them: no gunzip here and gzip again on the
        // way out. The runtime presents every request as accepting `br, gzip`; Cloudflare's edge
        // negotiates the client's real Accept-Encoding (locally, use `curl --compressed`).
        encodeResponseBody: "manual",
      },
      limits,
      () => upload?.exceeded() === true,
    );

    const headers = new Headers();
    for (const [name, value] of upstream.headers) {
      if (!DROPPED_RESPONSE_HEADERS.has(name)) headers.append(name, value);
    }
    // A HEAD answer carries no body. The runtime drops the body of a response to HEAD without
    // reading or cancelling it, so a relayed one would never end and its permit never return.
    if (!upstream.body || request.method === "HEAD") {
      upstream.body?.cancel().catch(() => undefined);
      return new Response(null, { status: upstream.status, statusText: upstream.statusText, headers, encodeBody: "manual" });
    }

    const relayed = relayBody(upstream.body, limits.timeoutMs);
    const response = new Response(relayed.stream, { status: upstream.status, statusText: upstream.statusText, headers, encodeBody: "manual" });
    ctx.waitUntil(relayed.ended.finally(() => permit.release()));
    handedOff = true;
    return response;
  } finally {
    if (!handedOff) permit.release();
  }
}

/**
 * Relays the upstream body to the client and says when the transfer is over, however it ends:
 * read to the end, upstream reset, upstream stalled for longer than `idleMs` between chunks, or
 * the client went away (the runtime cancels the stream). A JS pump rather than a native pipe,
 * because only `cancel` tells us at once that the client left while the upstream is quiet.
 */
function relayBody(body: ReadableStream<Uint8Array>, idleMs: number) {
  const reader = body.getReader();
  let finish!: () => void;
  const ended = new Promise<void>((resolve) => (finish = resolve));
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | null = null;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("upstream body stalled")), idleMs);
      });
      try {
        const chunk = await Promise.race([reader.read(), stalled]);
        if (chunk.done) {
          controller.close();
          finish();
        } else {
          controller.enqueue(chunk.value);
        }
      } catch (err) {
        controller.error(err);
        reader.cancel(err).catch(() => undefined);
        finish();
      } finally {
        if (timer !== null) clearTimeout(timer);
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason).catch(() => undefined);
    },
  });
  return { stream, ended };
}

function upstreamUrl(route: Route, rawQuery: string): string {
  const base = route.upstreamBase.endsWith("/") ? route.upstreamBase.slice(0, -1) : route.upstreamBase;
  return base + route.path + rawQuery;
}

function upstreamHeaders(incoming: Headers): Headers {
  const out = new Headers();
  const connectionListed = new Set(
    (incoming.get("connection") ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  for (const [name, value] of incoming) {
    if (DROPPED_REQUEST_HEADERS.has(name) || connectionListed.has(name) || name.startsWith("cf-")) continue;
    out.append(name, value);
  }
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
  return { stream, exceeded: () => over };
}

/** The upstream's answer (headers) within the timeout; our failures to get it as 413, 504 or 502. */
async function fetchWithTimeout(url: string, init: RequestInit, limits: ForwardLimits, uploadExceeded: () => boolean): Promise<Response> {
  const { timeoutMs } = limits;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    return await fetch(url, { ...init, signal: controller.signal });
  } catch {
    if (uploadExceeded()) throw tooLarge(limits);
    if (timedOut) {
      throw gatewayTimeout(`The deployment did not answer within ${timeoutMs / 1000} s: retry later; if it persists, check the deployment's health.`);
    }
    throw badGateway("The deployment could not be reached: retry later; if it persists, check the deployment's URL and health.");
  } finally {
    clearTimeout(timer);
  }
}

function tooLarge(limits: ForwardLimits) {
  return payloadTooLarge(`Request body is larger than ${limits.maxBodyBytes} bytes: send smaller batches.`);
}

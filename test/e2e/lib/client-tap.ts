// A counting pass-through between one client and the Worker. The client is configured with the
// tap's URL instead of the Worker's; the tap forwards every request byte for byte (method, path,
// query, headers, body) to the Worker and relays the answer byte for byte, and meanwhile records
// what the client saw: each request's status, and for remote-write bodies the samples they
// carried. That gives exact per-client numbers — requests, refusals by status, samples sent and
// samples accepted — without trusting each client's own metrics (Prometheus has no per-status
// request counter, vmalert none per request).
//
// When the Worker cannot be reached (a restart), the tap resets the client's connection rather
// than answering, so the client sees what it would see without the tap.

import { createHash } from "node:crypto";
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { LOOPBACK } from "./processes.ts";
import { decodeRemoteWrite, type WrittenSample } from "./remote-write.ts";

export interface TappedRequest {
  /** Date.now() when the request head arrived at the tap. */
  at: number;
  /** Date.now() when the answer's head was relayed (or the connection failed). */
  answeredAt?: number;
  method: string;
  /** Path and query as the client sent them. */
  url: string;
  /**
   * The Worker's status; "conn" when the Worker could not be reached; "aborted" when the client
   * gave up first; undefined while pending.
   */
  status?: number | "conn" | "aborted";
  /** Remote-write bodies (`Content-Encoding: snappy`): the samples selected by `countSamples`. */
  samples?: WrittenSample[];
  /** Body size and SHA-256 as sent by the client. */
  bodyBytes: number;
  bodySha256?: string;
}

export interface TapStats {
  requests: number;
  /** Status (or "conn") → count, for every answer that is not 2xx. */
  refusals: Record<string, number>;
  ok: number;
  /** Selected samples in every write request, refused ones included (attempts). */
  samplesAttempted: number;
  /** Selected samples in write requests the Worker answered 2xx. */
  samplesAccepted: number;
}

export interface ClientTapOptions {
  /** The Worker's base URL, e.g. http://127.0.0.1:8787. */
  target: string;
  /** Which decoded remote-write samples to keep and count (default: all). */
  countSamples?: (s: WrittenSample) => boolean;
  port?: number;
}

export interface ClientTap {
  /** Base URL to give the client instead of the Worker's. */
  readonly url: string;
  requests(): readonly TappedRequest[];
  /** Counts over all requests, or those that arrived at or after `since` (Date.now()). */
  stats(since?: number): TapStats;
  /** Samples of the write requests answered 2xx (duplicates from retries included). */
  acceptedSamples(): WrittenSample[];
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"]);

function forwardable(headers: IncomingHttpHeaders, host?: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  }
  if (host !== undefined) out.host = host;
  return out;
}

const is2xx = (s: TappedRequest["status"]) => typeof s === "number" && s >= 200 && s < 300;

export async function startClientTap(opts: ClientTapOptions): Promise<ClientTap> {
  const target = new URL(opts.target);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const log: TappedRequest[] = [];
  const sockets = new Set<Socket>();
  const keep = opts.countSamples ?? (() => true);

  const server: Server = createServer((req, res) => {
    const r: TappedRequest = { at: Date.now(), method: req.method ?? "GET", url: req.url ?? "/", bodyBytes: 0 };
    log.push(r);
    const snappy = req.headers["content-encoding"] === "snappy";
    const chunks: Buffer[] = [];
    const hash = createHash("sha256");
    const up = httpRequest({
      host: target.hostname,
      port: target.port,
      method: r.method,
      path: r.url,
      headers: forwardable(req.headers, target.host),
      agent,
    });
    const fail = () => {
      if (r.status !== undefined) return;
      r.status = "conn";
      r.answeredAt = Date.now();
      req.socket.destroy(); // like a refused or reset connection, as the client would see it
    };
    up.once("error", fail);
    up.once("response", (upRes) => {
      r.status = upRes.statusCode ?? 0;
      r.answeredAt = Date.now();
      res.writeHead(r.status, forwardable(upRes.headers));
      upRes.pipe(res);
      upRes.once("error", () => res.destroy());
    });
    req.on("data", (c: Buffer) => {
      r.bodyBytes += c.length;
      hash.update(c);
      if (snappy) chunks.push(c);
    });
    req.once("end", () => {
      r.bodySha256 = hash.digest("hex");
      if (snappy && chunks.length > 0) {
        try {
          r.samples = decodeRemoteWrite(Buffer.concat(chunks)).filter(keep);
        } catch {
          r.samples = []; // not a remote-write body after all; counted as zero samples
        }
      }
    });
    req.pipe(up);
    // The client gave up (its own timeout): do not keep the Worker's request open either.
    res.once("close", () => {
      if (res.writableFinished) return;
      up.destroy();
      if (r.status === undefined) {
        r.status = "aborted";
        r.answeredAt = Date.now();
      }
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.port ?? 0, LOOPBACK, () => ok());
  });
  const port = (server.address() as AddressInfo).port;

  const stats = (since = 0): TapStats => {
    const s: TapStats = { requests: 0, refusals: {}, ok: 0, samplesAttempted: 0, samplesAccepted: 0 };
    for (const r of log) {
      if (r.at < since || r.status === undefined) continue;
      s.requests++;
      const n = r.samples?.length ?? 0;
      s.samplesAttempted += n;
      if (is2xx(r.status)) {
        s.ok++;
        s.samplesAccepted += n;
      } else {
        const k = String(r.status);
        s.refusals[k] = (s.refusals[k] ?? 0) + 1;
      }
    }
    return s;
  };

  return {
    url: `http://${LOOPBACK}:${port}`,
    requests: () => log,
    stats,
    acceptedSamples: () => log.filter((r) => is2xx(r.status)).flatMap((r) => r.samples ?? []),
    stop: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        agent.destroy();
        server.close(() => ok());
      }),
  };
}

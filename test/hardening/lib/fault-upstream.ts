// A real HTTP upstream on 127.0.0.1 for the hardening runs: records every request exactly as it
// arrived (raw request-target, headers, body), counts requests in flight (and the most ever in
// flight at once), and misbehaves on demand. Complements test/e2e/lib/recording-upstream.ts with
// the faults that one lacks: a reset or a stall after the response headers, and a live count.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type Mode =
  /** 200 with a small JSON body (reads) or 204 (writes). */
  | "ok"
  /** A fixed error status with a body. */
  | "error"
  /** Never send headers until released (or the Worker gives up). */
  | "hang"
  /** Send headers and part of the body, then stall until released. */
  | "hang-body"
  /** The same with a declared Content-Length (the runtime relays such a body natively). */
  | "hang-body-sized"
  /** Send headers and part of the body, then destroy the connection. */
  | "reset-body"
  /** Destroy the connection before any answer. */
  | "reset";

export interface Arrival {
  seq: number;
  at: number;
  method: string;
  /** The request-target exactly as received (node keeps it raw). */
  target: string;
  headers: Record<string, string>;
  body: string;
  outcome: "pending" | "answered" | "reset" | "closed-by-peer" | "released";
}

export interface FaultUpstream {
  readonly url: string;
  readonly port: number;
  arrivals(): readonly Arrival[];
  clear(): void;
  setMode(mode: Mode, status?: number): void;
  /** Delay every answer by this many ms (or a function giving it per request); 0 for none. */
  setDelay(ms: number | (() => number)): void;
  /** Requests whose connection is still open at the upstream. */
  inFlight(): number;
  /** The most requests ever open at once since the last resetMax(). */
  maxInFlight(): number;
  resetMax(): void;
  /** Finish held requests (hang / hang-body) normally: all, or those `which` picks. */
  release(which?: (a: Arrival) => boolean): void;
  /** Close the listener and every connection: new connections are refused. */
  refuse(): Promise<void>;
  accept(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFaultUpstream(): Promise<FaultUpstream> {
  const log: Arrival[] = [];
  const held = new Map<ServerResponse, { arrival: Arrival; bodyStarted: boolean }>();
  const sockets = new Set<Socket>();
  let mode: Mode = "ok";
  let errorStatus = 503;
  let delay: number | (() => number) = 0;
  let open = 0;
  let max = 0;
  let server: Server | undefined;
  let port = 0;

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    open++;
    max = Math.max(max, open);
    let counted = true;
    const done = () => {
      if (counted) {
        counted = false;
        open--;
      }
    };
    res.once("close", done);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    const arrival: Arrival = { seq: log.length + 1, at: Date.now(), method: req.method ?? "", target: req.url ?? "", headers, body: "", outcome: "pending" };
    log.push(arrival);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.once("error", () => undefined);
    res.once("close", () => {
      if (arrival.outcome === "pending") arrival.outcome = "closed-by-peer";
      held.delete(res);
    });
    req.once("end", () => {
      arrival.body = Buffer.concat(chunks).toString("latin1");
      const wait = typeof delay === "function" ? delay() : delay;
      if (wait > 0) setTimeout(answer, wait);
      else answer();
    });
    const answer = () => {
      const isWrite = req.method !== "GET" && req.method !== "HEAD" && !/query|series|labels|export|render/.test(arrival.target);
      switch (mode) {
        case "ok":
          arrival.outcome = "answered";
          if (isWrite) res.writeHead(204).end();
          else res.writeHead(200, { "content-type": "application/json" }).end('{"status":"success","data":{"resultType":"vector","result":[]}}');
          return;
        case "error":
          arrival.outcome = "answered";
          res.writeHead(errorStatus, { "content-type": "text/plain" }).end(`upstream says ${errorStatus}`);
          return;
        case "hang":
          held.set(res, { arrival, bodyStarted: false });
          return;
        case "hang-body":
          res.writeHead(200, { "content-type": "application/json" });
          res.write('{"status":"success","data":');
          held.set(res, { arrival, bodyStarted: true });
          return;
        case "hang-body-sized":
          res.writeHead(200, { "content-type": "application/json", "content-length": "30" });
          res.write('{"status":"success","data":');
          held.set(res, { arrival, bodyStarted: true });
          return;
        case "reset-body":
          arrival.outcome = "reset";
          res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
          res.write('{"status":"success","data":', () => setTimeout(() => req.socket.destroy(), 20));
          return;
        case "reset":
          arrival.outcome = "reset";
          req.socket.destroy();
          return;
      }
    };
  };

  const listen = () =>
    new Promise<void>((ok, fail) => {
      const s = createServer(handler);
      s.keepAliveTimeout = 1000;
      s.on("connection", (sock: Socket) => {
        sockets.add(sock);
        sock.once("close", () => sockets.delete(sock));
      });
      s.once("error", fail);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        ok();
      });
    });
  const close = () =>
    new Promise<void>((ok) => {
      const s = server;
      server = undefined;
      for (const sock of sockets) sock.destroy();
      held.clear();
      if (!s) return ok();
      s.close(() => ok());
    });

  await listen();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    arrivals: () => log,
    clear: () => void log.splice(0),
    setMode(next, status = 503) {
      mode = next;
      errorStatus = status;
    },
    setDelay(ms) {
      delay = ms;
    },
    inFlight: () => open,
    maxInFlight: () => max,
    resetMax: () => void (max = open),
    release(which) {
      for (const [res, h] of held) {
        if (which && !which(h.arrival)) continue;
        held.delete(res);
        h.arrival.outcome = "released";
        if (h.bodyStarted) res.end("[]}");
        else res.writeHead(200, { "content-type": "application/json" }).end('{"status":"success","data":[]}');
      }
    },
    refuse: close,
    accept: () => (server ? Promise.resolve() : listen()),
    stop: close,
  };
}

// A stand-in for vminsert/vmselect (no cluster binaries are packaged): it records every request
// it receives and answers like a healthy cluster, or misbehaves on demand.
//
// Recorded: method, path, raw query, headers (credentials redacted), body size and SHA-256,
// Content-Encoding. Default answers: 204 to writes (anything under /insert/, or a POST/PUT
// elsewhere that is not a query), a minimal valid Prometheus JSON to reads.
// Behaviours: "status" (fixed answer), "hang" (never answer until release()), "reset" (destroy
// the connection), "delay"; and refuse()/accept() to close and reopen the listening socket.

import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { LOOPBACK, waitFor } from "./processes.ts";

export interface RecordedRequest {
  /** 1-based arrival order. */
  seq: number;
  /** Date.now() when the request head arrived. */
  at: number;
  method: string;
  /** Path as received (still percent-encoded). */
  path: string;
  /** Raw query string without the `?` ("" when none). */
  query: string;
  /** Lower-cased names; Authorization, Cookie, Proxy-Authorization and X-VM-Cloud-Access values are "<redacted>". */
  headers: Record<string, string | string[]>;
  authorization: "present" | "absent";
  /** "Bearer", "Basic", … — never the credential. */
  authorizationScheme?: string;
  contentEncoding?: string;
  contentType?: string;
  /** Bytes actually received (after the transport, before any decoding). */
  bodyBytes: number;
  bodySha256: string;
  /** Only with keepBodies. */
  body?: Buffer;
  /**
   * What became of it: answered; still hung; reset by us; or aborted — the connection closed
   * before an answer (while hung, or before the body ended).
   */
  outcome: "answered" | "hung" | "reset" | "aborted";
  status?: number;
}

export type Behaviour =
  | { kind: "default" }
  | { kind: "status"; status: number; body?: string; headers?: Record<string, string> }
  | { kind: "hang" }
  | { kind: "reset" }
  | { kind: "delay"; ms: number; then?: Behaviour };

export type BehaviourRule = Behaviour | ((req: RecordedRequest) => Behaviour);

export interface RecordingUpstreamOptions {
  /** Keep request bodies in memory (for decoding them in a test). Default false. */
  keepBodies?: boolean;
  port?: number;
}

export interface RecordingUpstream {
  readonly url: string;
  readonly port: number;
  /** Everything received so far, oldest first. */
  requests(): readonly RecordedRequest[];
  clear(): void;
  /** How to answer from now on (a fixed behaviour or a function of the request). */
  setBehaviour(rule: BehaviourRule): void;
  /** Requests currently held by "hang". */
  hanging(): number;
  /** Answer every request held by "hang" with `status` (default 204). New ones still hang until setBehaviour(). */
  release(status?: number): void;
  /** Close the listening socket and drop open connections: new connections are refused. */
  refuse(): Promise<void>;
  /** Listen again on the same port. */
  accept(): Promise<void>;
  /** Resolves when at least `n` requests have been recorded (bounded). */
  waitForRequests(n: number, timeoutMs?: number): Promise<readonly RecordedRequest[]>;
  stop(): Promise<void>;
}

const REDACTED = new Set(["authorization", "cookie", "proxy-authorization", "x-vm-cloud-access"]);

function isRead(path: string, method: string): boolean {
  if (path.startsWith("/select/")) return true;
  if (path.startsWith("/insert/")) return false;
  return method === "GET" || method === "HEAD" || /\/api\/v1\/(query|query_range|series|labels|label\/)/.test(path);
}

function readAnswer(path: string): string {
  if (/\/api\/v1\/query_range$/.test(path)) return '{"status":"success","data":{"resultType":"matrix","result":[]}}';
  if (/\/api\/v1\/query$/.test(path)) return '{"status":"success","data":{"resultType":"vector","result":[]}}';
  return '{"status":"success","data":[]}';
}

export async function startRecordingUpstream(opts: RecordingUpstreamOptions = {}): Promise<RecordingUpstream> {
  const log: RecordedRequest[] = [];
  const hung = new Map<ServerResponse, RecordedRequest>();
  const sockets = new Set<Socket>();
  let rule: BehaviourRule = { kind: "default" };
  let server: Server | undefined;
  let port = opts.port ?? 0;

  const record = (req: IncomingMessage): RecordedRequest => {
    const [path = "/", ...rest] = (req.url ?? "/").split("?");
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers[k] = REDACTED.has(k) ? "<redacted>" : v;
    }
    const auth = req.headers.authorization;
    const r: RecordedRequest = {
      seq: log.length + 1,
      at: Date.now(),
      method: req.method ?? "GET",
      path,
      query: rest.join("?"),
      headers,
      authorization: auth === undefined ? "absent" : "present",
      bodyBytes: 0,
      bodySha256: "",
      outcome: "aborted",
    };
    if (auth !== undefined) r.authorizationScheme = auth.split(" ")[0];
    if (req.headers["content-encoding"] !== undefined) r.contentEncoding = req.headers["content-encoding"];
    if (req.headers["content-type"] !== undefined) r.contentType = req.headers["content-type"];
    log.push(r);
    return r;
  };

  const act = (b: Behaviour, r: RecordedRequest, req: IncomingMessage, res: ServerResponse): void => {
    switch (b.kind) {
      case "default": {
        const read = isRead(r.path, r.method);
        r.outcome = "answered";
        r.status = read ? 200 : 204;
        if (read) res.writeHead(200, { "content-type": "application/json" }).end(readAnswer(r.path));
        else res.writeHead(204).end();
        return;
      }
      case "status":
        r.outcome = "answered";
        r.status = b.status;
        res.writeHead(b.status, b.headers).end(b.body ?? "");
        return;
      case "hang":
        r.outcome = "hung";
        hung.set(res, r);
        res.once("close", () => {
          // Closed while still held: the client (or the Worker) gave up on it.
          if (hung.delete(res)) r.outcome = "aborted";
        });
        return;
      case "reset":
        r.outcome = "reset";
        req.socket.destroy();
        return;
      case "delay": {
        const timer = setTimeout(() => act(b.then ?? { kind: "default" }, r, req, res), b.ms);
        res.once("close", () => clearTimeout(timer));
        return;
      }
    }
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const r = record(req);
    const hash = createHash("sha256");
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      r.bodyBytes += c.length;
      hash.update(c);
      if (opts.keepBodies) chunks.push(c);
    });
    req.once("error", () => undefined);
    req.once("end", () => {
      r.bodySha256 = hash.digest("hex");
      if (opts.keepBodies) r.body = Buffer.concat(chunks);
      const b = typeof rule === "function" ? rule(r) : rule;
      act(b, r, req, res);
    });
  };

  const listen = () =>
    new Promise<void>((ok, fail) => {
      const s = createServer(handler);
      s.on("connection", (sock: Socket) => {
        sockets.add(sock);
        sock.once("close", () => sockets.delete(sock));
      });
      s.once("error", fail);
      s.listen(port, LOOPBACK, () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        ok();
      });
    });

  const close = () =>
    new Promise<void>((ok) => {
      const s = server;
      server = undefined;
      for (const res of hung.keys()) res.destroy();
      hung.clear();
      for (const sock of sockets) sock.destroy();
      if (!s) return ok();
      s.close(() => ok());
    });

  await listen();

  return {
    get url() {
      return `http://${LOOPBACK}:${port}`;
    },
    get port() {
      return port;
    },
    requests: () => log,
    clear: () => void log.splice(0),
    setBehaviour(next) {
      rule = next;
    },
    hanging: () => hung.size,
    release(status = 204) {
      for (const [res, r] of hung) {
        r.outcome = "answered";
        r.status = status;
        res.writeHead(status).end();
      }
      hung.clear();
    },
    refuse: close,
    accept: () => (server ? Promise.resolve() : listen()),
    waitForRequests(n, timeoutMs = 10_000) {
      return waitFor(() => (log.length >= n ? log : undefined), {
        timeoutMs,
        intervalMs: 20,
        what: `${n} requests at the recording upstream (have ${log.length})`,
      });
    },
    stop: close,
  };
}

// Raw HTTP/1.1 over a socket: the request line and headers go out byte for byte, so the Worker
// is reached through workerd's real HTTP parser (a Request built in a test has already been
// normalised by the URL parser).

import { connect, type Socket } from "node:net";

export interface RawAnswer {
  /** 0 when no status line arrived (connection closed, reset, or timed out first). */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** How the exchange ended. */
  ended: "complete" | "closed" | "reset" | "timeout";
  ms: number;
}

export interface RawOptions {
  /** Give up (and destroy the socket) after this long. */
  timeoutMs?: number;
  /** Destroy the socket this long after sending: a client that goes away. */
  abortAfterMs?: number;
  /** Write these extra chunks after the head, spaced by `chunkDelayMs` (slow or partial uploads). */
  chunks?: string[];
  chunkDelayMs?: number;
  /** The request is a HEAD: the answer ends with its headers. */
  headOnly?: boolean;
}

function parse(raw: Buffer, headOnly = false): { status: number; headers: Record<string, string>; body: string; complete: boolean } {
  const text = raw.toString("latin1");
  const headEnd = text.indexOf("\r\n\r\n");
  if (headEnd < 0) return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), headers: {}, body: "", complete: false };
  const [statusLine = "", ...lines] = text.slice(0, headEnd).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const c = l.indexOf(":");
    if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
  }
  let body = text.slice(headEnd + 4);
  let complete = false;
  if (headOnly) {
    complete = true;
  } else if (headers["content-length"] !== undefined) {
    complete = body.length >= Number(headers["content-length"]);
  } else if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
    complete = /(^|\r\n)0\r\n\r\n$/.test(body);
    body = dechunk(body);
  } else {
    complete = status === 204 || status === 304;
  }
  return { status, headers, body, complete };
}

function dechunk(body: string): string {
  let out = "";
  let i = 0;
  for (;;) {
    const eol = body.indexOf("\r\n", i);
    if (eol < 0) return out;
    const size = parseInt(body.slice(i, eol), 16);
    if (!Number.isFinite(size) || size === 0) return out;
    out += body.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}

export function rawRequest(port: number, head: string | Buffer, opts: RawOptions = {}): Promise<RawAnswer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket: Socket = connect(port, "127.0.0.1");
    const received: Buffer[] = [];
    let settled = false;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const finish = (ended: RawAnswer["ended"]) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      socket.destroy();
      const p = parse(Buffer.concat(received), opts.headOnly);
      resolve({ status: p.status, headers: p.headers, body: p.body, ended: ended === "closed" && p.complete ? "complete" : ended, ms: Date.now() - started });
    };
    socket.on("data", (d: Buffer) => {
      received.push(d);
      if (parse(Buffer.concat(received), opts.headOnly).complete) finish("complete");
    });
    socket.on("error", () => finish("reset"));
    socket.on("close", () => finish("closed"));
    socket.write(head);
    let delay = 0;
    for (const chunk of opts.chunks ?? []) {
      delay += opts.chunkDelayMs ?? 0;
      timers.push(setTimeout(() => !settled && socket.write(chunk), delay));
    }
    if (opts.abortAfterMs !== undefined) timers.push(setTimeout(() => finish("closed"), opts.abortAfterMs));
    timers.push(setTimeout(() => finish("timeout"), opts.timeoutMs ?? 10_000));
  });
}

/** A request head: request line, Host, Connection: close, the given headers, blank line. */
export function head(method: string, target: string, headers: Record<string, string> = {}, host = "127.0.0.1"): string {
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${host}`, "Connection: close"];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return lines.join("\r\n") + "\r\n\r\n";
}

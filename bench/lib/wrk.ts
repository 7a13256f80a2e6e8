// Runs wrk (bounded: -d plus a hard timeout) with bench/wrk/request.lua and returns its summary.

import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("../wrk/request.lua", import.meta.url));

export interface WrkRequest {
  url: string;
  method?: "GET" | "POST";
  bodyFile?: string;
  headers?: Record<string, string>;
  /** A file of secrets, one a line: each request carries a random one. */
  tokensFile?: string;
  /** Count answers per status (for runs that expect 429s). */
  countStatuses?: boolean;
}

export interface WrkResult {
  requests: number;
  durationSeconds: number;
  /** Requests per second, all answers. */
  rps: number;
  /** Answers that were not 2xx/3xx, plus socket errors and timeouts. */
  errors: number;
  latencyUs: { mean: number; p50: number; p90: number; p99: number; max: number };
  statuses: Record<string, number>;
}

interface RawSummary {
  requests: number;
  duration_us: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latency_us: WrkResult["latencyUs"];
  statuses: Record<string, number>;
}

export async function runWrk(
  req: WrkRequest,
  opts: { connections: number; durationSeconds: number; tmpDir: string; threads?: number; timeoutSeconds?: number },
): Promise<WrkResult> {
  const out = join(opts.tmpDir, `wrk-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  const headers = Object.entries(req.headers ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n");
  const threads = Math.min(opts.threads ?? 1, opts.connections);
  const args = [
    `-t${threads}`,
    `-c${opts.connections}`,
    `-d${opts.durationSeconds}s`,
    `--timeout=${opts.timeoutSeconds ?? 10}s`,
    "-s",
    SCRIPT,
    req.url,
  ];
  const env = {
    ...process.env,
    BENCH_METHOD: req.method ?? "GET",
    BENCH_BODY_FILE: req.bodyFile ?? "",
    BENCH_HEADERS: headers,
    BENCH_TOKENS_FILE: req.tokensFile ?? "",
    BENCH_STATUSES: req.countStatuses ? "1" : "0",
    BENCH_OUT: out,
  };
  const { code, text } = await new Promise<{ code: number | null; text: string }>((ok) => {
    const child = spawn("wrk", args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (c: Buffer) => (text += c.toString()));
    child.stderr.on("data", (c: Buffer) => (text += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), (opts.durationSeconds + 30) * 1000);
    child.once("close", (code) => {
      clearTimeout(timer);
      ok({ code, text });
    });
  });
  let raw: RawSummary;
  try {
    raw = JSON.parse(readFileSync(out, "utf8")) as RawSummary;
  } catch {
    throw new Error(`wrk ${args.join(" ")} failed (exit ${code}):\n${text.slice(-2000)}`);
  } finally {
    rmSync(out, { force: true });
  }
  const e = raw.errors;
  const durationSeconds = raw.duration_us / 1e6;
  return {
    requests: raw.requests,
    durationSeconds,
    rps: raw.requests / durationSeconds,
    errors: e.connect + e.read + e.write + e.status + e.timeout,
    latencyUs: raw.latency_us,
    statuses: raw.statuses,
  };
}

// Start and stop the real components of the end-to-end suite on loopback: VictoriaMetrics,
// vmagent, Prometheus in agent mode and vmalert (Debian packages, see test/e2e/install-deps.sh).
//
// Every process:
// - listens on 127.0.0.1 on a free port chosen here;
// - logs stdout+stderr to a file under the run's temp directory (E2E_KEEP_TMP=1 keeps it);
// - runs under coreutils `timeout`, in its own process group, so it dies after
//   E2E_MAX_PROCESS_SECONDS (default 300) even if the test runner is killed with SIGKILL;
// - is stopped by stop() (SIGTERM, then SIGKILL after a grace period), by stopAll(), and by
//   this module's exit handler if a test forgets.
// Every wait is bounded and fails with the tail of the component's log.

import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parsePromText, sumBy, sumOf, type MetricSample } from "./prom-text.ts";

export const LOOPBACK = "127.0.0.1";

const MAX_PROCESS_SECONDS = Number(process.env.E2E_MAX_PROCESS_SECONDS ?? 300);
const DEFAULT_READY_MS = 20_000;
const DEFAULT_GRACE_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Temp directory of the run

let runRoot: string | undefined;

/** The run's temp root (created on first use): `$E2E_TMPDIR` or the OS temp dir, `vm-e2e-*`. */
export function tempRoot(): string {
  if (runRoot === undefined) {
    const base = process.env.E2E_TMPDIR ?? tmpdir();
    mkdirSync(base, { recursive: true });
    runRoot = mkdtempSync(join(base, "vm-e2e-"));
  }
  return runRoot;
}

/** A fresh directory under the run's temp root. */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tempRoot(), `${prefix}-`));
}

/** Write a file readable only by us (credentials, configs that contain them). */
export function writePrivateFile(dir: string, name: string, contents: string): string {
  const path = join(dir, name);
  writeFileSync(path, contents, { mode: 0o600 });
  return path;
}

/** Remove the run's temp root, unless E2E_KEEP_TMP=1 or `keep` (a test failed): then say where it is. */
export function cleanupTempRoot(keep = false): void {
  if (runRoot === undefined) return;
  if (keep || process.env.E2E_KEEP_TMP === "1") {
    console.log(`e2e: keeping logs and data under ${runRoot}`);
  } else {
    rmSync(runRoot, { recursive: true, force: true });
  }
  runRoot = undefined;
}

// ---------------------------------------------------------------------------------------------
// Ports and waiting

const handedOut = new Set<number>();

/** A port on 127.0.0.1 that was free a moment ago and that this process has not handed out. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((ok, fail) => {
      const srv = createServer();
      srv.once("error", fail);
      srv.listen(0, LOOPBACK, () => {
        const addr = srv.address();
        srv.close(() => (typeof addr === "object" && addr ? ok(addr.port) : fail(new Error("no port"))));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("freePort: no unused port after 50 attempts");
}

export const sleep = (ms: number): Promise<void> => new Promise((ok) => setTimeout(ok, ms));

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Shown in the timeout error. */
  what?: string;
}

/**
 * Poll `check` until it returns something other than undefined/false, or throw after
 * `timeoutMs` with the last error or value seen. `check` may throw; that counts as "not yet".
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, intervalMs = 100, what = "condition" }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`);
    }
    await sleep(intervalMs);
  }
}

/** fetch with a deadline (AbortSignal.timeout), so no request in the harness can hang. */
export function fetchWithTimeout(url: string | URL, init: RequestInit = {}, timeoutMs = 10_000): Promise<Response> {
  return fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(timeoutMs) });
}

// ---------------------------------------------------------------------------------------------
// Managed processes

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  running(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. Idempotent. */
  stop(graceMs?: number): Promise<ExitInfo>;
  /** SIGKILL now: a crash, for tests of what survives one. */
  kill(): Promise<ExitInfo>;
  /** The last `lines` lines of its log. */
  logTail(lines?: number): string;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  logDir: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Poll this URL until it answers 2xx (or `readyCheck` says yes); fail early if the process exits. */
  readyUrl?: string;
  readyCheck?: (res: Response) => boolean | Promise<boolean>;
  readyTimeoutMs?: number;
}

const live = new Set<ManagedProcess>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal); // the whole group: `timeout` and the component under it
  } catch {
    // already gone
  }
}

let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort; stop()/stopAll() are the normal path.
  process.on("exit", () => {
    for (const p of live) killGroup(p.pid, "SIGKILL");
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      for (const p of live) killGroup(p.pid, "SIGKILL");
      process.exit(sig === "SIGINT" ? 130 : sig === "SIGTERM" ? 143 : 129);
    });
  }
}

/** Spawn `command args` under `timeout`, logging to `<logDir>/<name>.log`, and wait until ready. */
export async function spawnManaged(opts: SpawnOptions): Promise<ManagedProcess> {
  installExitHook();
  mkdirSync(opts.logDir, { recursive: true });
  const logFile = join(opts.logDir, `${opts.name}.log`);
  const fd = openSync(logFile, "a");
  writeSync(fd, `--- ${new Date().toISOString()} ${opts.command} ${opts.args.join(" ")}\n`);
  let child: ChildProcess;
  try {
    child = spawn(
      "timeout",
      // --kill-after also arms when `timeout` forwards our SIGTERM: keep it beyond any grace period.
      ["--kill-after=30", String(MAX_PROCESS_SECONDS), opts.command, ...opts.args],
      {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        stdio: ["ignore", fd, fd],
        detached: true, // own process group, so stop() reaches the component under `timeout`
      },
    );
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) {
    throw new Error(`${opts.name}: spawn failed (${opts.command})`);
  }
  const pid = child.pid;
  let done = false;
  const exited = new Promise<ExitInfo>((ok) => {
    child.once("exit", (code, signal) => {
      done = true;
      ok({ code, signal });
    });
    child.once("error", () => {
      done = true;
      ok({ code: null, signal: null });
    });
  });
  const logTail = (lines = 30): string => {
    try {
      return readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  };
  let stopping: Promise<ExitInfo> | undefined;
  const proc: ManagedProcess = {
    name: opts.name,
    pid,
    logFile,
    exited,
    running: () => !done,
    logTail,
    stop(graceMs = DEFAULT_GRACE_MS) {
      stopping ??= (async () => {
        if (!done) {
          killGroup(pid, "SIGTERM");
          const timer = setTimeout(() => killGroup(pid, "SIGKILL"), graceMs);
          await exited;
          clearTimeout(timer);
          killGroup(pid, "SIGKILL"); // anything left in the group
        }
        live.delete(proc);
        return exited;
      })();
      return stopping;
    },
    async kill() {
      killGroup(pid, "SIGKILL");
      await exited;
      live.delete(proc);
      return exited;
    },
  };
  live.add(proc);
  exited.then(() => live.delete(proc));

  if (opts.readyUrl !== undefined) {
    try {
      await waitUntilReady(proc, opts.readyUrl, opts.readyTimeoutMs ?? DEFAULT_READY_MS, opts.readyCheck);
    } catch (e) {
      await proc.stop(2_000);
      const reason = e instanceof Error ? e.message : String(e);
      throw new Error(`${opts.name} did not become ready: ${reason}\n--- ${logFile} (tail) ---\n${logTail()}`);
    }
  }
  return proc;
}

async function waitUntilReady(
  proc: ManagedProcess,
  url: string,
  timeoutMs: number,
  check?: (res: Response) => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (!proc.running()) {
      const info = await proc.exited;
      throw new Error(`exited before ready (code ${info.code}, signal ${info.signal})`);
    }
    try {
      const res = await fetchWithTimeout(url, {}, 2_000);
      if (check ? await check(res) : res.ok) {
        await res.body?.cancel();
        return;
      }
      last = `HTTP ${res.status}`;
      await res.body?.cancel();
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await sleep(100);
  }
  throw new Error(`no ready answer from ${url} within ${timeoutMs} ms (last: ${last})`);
}


/** Stop every process this module started (in parallel, each bounded). */
export async function stopAll(graceMs = DEFAULT_GRACE_MS): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(graceMs)));
}

// ---------------------------------------------------------------------------------------------
// Common shape of a started component

export interface Component {
  readonly name: string;
  /** Base URL, e.g. http://127.0.0.1:40123 (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** The current process (replaced by restart()). */
  readonly process: ManagedProcess;
  stop(): Promise<void>;
  /** Graceful stop, then the same binary, flags, port and data directories again. */
  restart(): Promise<void>;
  /** SIGKILL: a crash. Call restart() to bring it back. */
  kill(): Promise<void>;
  /** Its own /metrics, parsed. */
  metrics(): Promise<MetricSample[]>;
}

interface ComponentSpec {
  name: string;
  command: string;
  args: string[];
  port: number;
  logDir: string;
  readyPath: string;
  readyTimeoutMs?: number;
}

async function startComponent(spec: ComponentSpec): Promise<Component> {
  const url = `http://${LOOPBACK}:${spec.port}`;
  // One log file per component instance; restarts append to it after a header line.
  const launch = () =>
    spawnManaged({
      name: `${spec.name}-${spec.port}`,
      command: spec.command,
      args: spec.args,
      logDir: spec.logDir,
      readyUrl: url + spec.readyPath,
      readyTimeoutMs: spec.readyTimeoutMs,
    });
  let current = await launch();
  return {
    name: spec.name,
    url,
    port: spec.port,
    get process() {
      return current;
    },
    async stop() {
      await current.stop();
    },
    async restart() {
      await current.stop();
      current = await launch();
    },
    async kill() {
      await current.kill();
    },
    async metrics() {
      const res = await fetchWithTimeout(`${url}/metrics`);
      if (!res.ok) throw new Error(`${spec.name} /metrics answered ${res.status}`);
      return parsePromText(await res.text());
    },
  };
}

function scrapeConfigYaml(targets: string[], interval: string, jobName: string): string {
  // JSON is YAML; both vmagent and Prometheus read it.
  return JSON.stringify({
    global: { scrape_interval: interval, scrape_timeout: interval },
    scrape_configs: [
      { job_name: jobName, honor_timestamps: true, static_configs: [{ targets }] },
    ],
  }, null, 2);
}

// ---------------------------------------------------------------------------------------------
// VictoriaMetrics single-node

export interface VictoriaMetricsOptions {
  /** Kept across restart(); default: a fresh temp dir. */
  dataDir?: string;
  port?: number;
  /** Default 100y: the suite writes "now" and must never see it expire. */
  retentionPeriod?: string;
  extraArgs?: string[];
}

export interface VictoriaMetrics extends Component {
  readonly dataDir: string;
}

export async function startVictoriaMetrics(opts: VictoriaMetricsOptions = {}): Promise<VictoriaMetrics> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? makeTempDir("victoria-metrics-data");
  const args = [
    `-httpListenAddr=${LOOPBACK}:${port}`,
    `-storageDataPath=${dataDir}`,
    `-retentionPeriod=${opts.retentionPeriod ?? "100y"}`,
    // Just-written samples visible to /api/v1/query at once (default hides the last 30s),
    // and no response cache that could serve a result computed before they arrived.
    "-search.latencyOffset=0s",
    "-search.disableCache",
    "-loggerLevel=INFO",
    ...(opts.extraArgs ?? []),
  ];
  const c = await startComponent({
    name: "victoria-metrics",
    command: "victoria-metrics",
    args,
    port,
    logDir: join(tempRoot(), "logs"),
    readyPath: "/health",
  });
  return Object.assign(c, { dataDir }) as VictoriaMetrics;
}

// ---------------------------------------------------------------------------------------------
// vmagent

export interface VmagentOptions {
  /** Full remote write URL, e.g. `${vm.url}/api/v1/write` or `${worker.url}/api/v1/write`. */
  remoteWriteUrl: string;
  /** Sent as `Authorization: Bearer ...`; passed through a 0600 file, never on the command line. */
  bearerToken?: string;
  /** host:port pairs to scrape with a generated config (honor_timestamps: true). */
  scrapeTargets?: string[];
  /** Or a complete -promscrape.config (YAML text). */
  scrapeConfig?: string;
  /** Default "1s". */
  scrapeInterval?: string;
  /** Persistent queue; kept across restart(). Default: a fresh temp dir. */
  tmpDataPath?: string;
  /** Default "100ms": a block leaves at most this long after its samples were scraped. */
  flushInterval?: string;
  /** -remoteWrite.queues (vmagent default: 2 x CPUs). */
  queues?: number;
  /** Default "20s". */
  sendTimeout?: string;
  /** Default true: no stale markers (NaN samples) when a target goes away, so counts stay exact. */
  noStaleMarkers?: boolean;
  port?: number;
  extraArgs?: string[];
}

export interface RemoteWriteStats {
  /** vmagent 1.79.5 labels successes `2XX` and everything else by its exact code. */
  requestsByStatus: Record<string, number>;
  /** Blocks vmagent gave up on (it does so on 400 and 409 only). */
  packetsDropped: number;
  retries: number;
  errors: number;
  blocksSent: number;
  /** Bytes waiting in the persistent queue (on disk or in memory). */
  pendingBytes: number;
  pendingInmemoryBlocks: number;
  rowsPushed: number;
}

export interface Vmagent extends Component {
  readonly tmpDataPath: string;
  /** Point it at another token: the file is re-read per request, no restart needed. */
  setBearerToken(token: string): void;
  remoteWriteStats(): Promise<RemoteWriteStats>;
  /** Wait until nothing is pending (persistent queue empty, no in-memory blocks). */
  waitForDrained(opts?: WaitOptions): Promise<RemoteWriteStats>;
}

export async function startVmagent(opts: VmagentOptions): Promise<Vmagent> {
  const port = opts.port ?? (await freePort());
  const dir = makeTempDir("vmagent");
  const tmpDataPath = opts.tmpDataPath ?? join(dir, "remotewrite-data");
  const interval = opts.scrapeInterval ?? "1s";
  const args = [
    `-httpListenAddr=${LOOPBACK}:${port}`,
    `-remoteWrite.url=${opts.remoteWriteUrl}`,
    `-remoteWrite.tmpDataPath=${tmpDataPath}`,
    `-remoteWrite.flushInterval=${opts.flushInterval ?? "100ms"}`,
    `-remoteWrite.sendTimeout=${opts.sendTimeout ?? "20s"}`,
    "-loggerLevel=INFO",
  ];
  const tokenFile = join(dir, "bearer-token");
  if (opts.bearerToken !== undefined) {
    writePrivateFile(dir, "bearer-token", opts.bearerToken);
    args.push(`-remoteWrite.bearerTokenFile=${tokenFile}`);
  }
  if (opts.queues !== undefined) args.push(`-remoteWrite.queues=${opts.queues}`);
  if (opts.noStaleMarkers ?? true) args.push("-promscrape.noStaleMarkers");
  const scrape =
    opts.scrapeConfig ??
    (opts.scrapeTargets?.length ? scrapeConfigYaml(opts.scrapeTargets, interval, "e2e") : undefined);
  if (scrape !== undefined) {
    writeFileSync(join(dir, "scrape.yml"), scrape);
    args.push(`-promscrape.config=${join(dir, "scrape.yml")}`);
  }
  args.push(...(opts.extraArgs ?? []));
  const c = await startComponent({
    name: "vmagent",
    command: "vmagent",
    args,
    port,
    logDir: join(tempRoot(), "logs"),
    readyPath: "/health",
  });
  const remoteWriteStats = async (): Promise<RemoteWriteStats> => {
    const m = await c.metrics();
    return {
      requestsByStatus: sumBy(m, "vmagent_remotewrite_requests_total", "status_code"),
      packetsDropped: sumOf(m, "vmagent_remotewrite_packets_dropped_total"),
      retries: sumOf(m, "vmagent_remotewrite_retries_count_total"),
      errors: sumOf(m, "vmagent_remotewrite_errors_total"),
      blocksSent: sumOf(m, "vmagent_remotewrite_blocks_sent_total"),
      pendingBytes: sumOf(m, "vmagent_remotewrite_pending_data_bytes"),
      pendingInmemoryBlocks: sumOf(m, "vmagent_remotewrite_pending_inmemory_blocks"),
      rowsPushed: sumOf(m, "vmagent_remotewrite_rows_pushed_after_relabel_total"),
    };
  };
  return Object.assign(c, {
    tmpDataPath,
    setBearerToken(token: string) {
      if (!existsSync(tokenFile)) throw new Error("vmagent was started without bearerToken");
      writePrivateFile(dir, "bearer-token", token);
    },
    remoteWriteStats,
    waitForDrained(w: WaitOptions = {}) {
      return waitFor(
        async () => {
          const s = await remoteWriteStats();
          return s.pendingBytes === 0 && s.pendingInmemoryBlocks === 0 ? s : undefined;
        },
        { timeoutMs: 15_000, what: "vmagent remote write queue to drain", ...w },
      );
    },
  }) as Vmagent;
}

// ---------------------------------------------------------------------------------------------
// Prometheus in agent mode

export interface PrometheusAgentOptions {
  /** Full remote write URL. */
  remoteWriteUrl: string;
  /** `authorization: { credentials_file }` (type Bearer), from a 0600 file. */
  bearerToken?: string;
  scrapeTargets: string[];
  /** Default "1s". */
  scrapeInterval?: string;
  /** WAL; kept across restart(). Default: a fresh temp dir. */
  storagePath?: string;
  /** Merged over the defaults (batch_send_deadline 200ms, backoff 100ms..1s, retry_on_http_429). */
  queueConfig?: Record<string, unknown>;
  port?: number;
  extraArgs?: string[];
}

export interface PrometheusRemoteWriteStats {
  samplesSent: number;
  samplesFailed: number;
  samplesRetried: number;
  samplesDropped: number;
  samplesPending: number;
}

export interface PrometheusAgent extends Component {
  readonly storagePath: string;
  /** Rewrite the credentials file (Prometheus reads it at every request; restart() to be sure). */
  setBearerToken(token: string): void;
  remoteWriteStats(): Promise<PrometheusRemoteWriteStats>;
}

export async function startPrometheusAgent(opts: PrometheusAgentOptions): Promise<PrometheusAgent> {
  const port = opts.port ?? (await freePort());
  const dir = makeTempDir("prometheus-agent");
  const storagePath = opts.storagePath ?? join(dir, "wal");
  const interval = opts.scrapeInterval ?? "1s";
  const remoteWrite: Record<string, unknown> = {
    url: opts.remoteWriteUrl,
    queue_config: {
      batch_send_deadline: "200ms",
      min_backoff: "100ms",
      max_backoff: "1s",
      retry_on_http_429: true,
      ...opts.queueConfig,
    },
  };
  if (opts.bearerToken !== undefined) {
    remoteWrite.authorization = {
      type: "Bearer",
      credentials_file: writePrivateFile(dir, "bearer-token", opts.bearerToken),
    };
  }
  const config = JSON.parse(scrapeConfigYaml(opts.scrapeTargets, interval, "e2e")) as Record<string, unknown>;
  config.remote_write = [remoteWrite];
  const configFile = writePrivateFile(dir, "prometheus.yml", JSON.stringify(config, null, 2));
  const args = [
    "--enable-feature=agent",
    `--config.file=${configFile}`,
    `--storage.agent.path=${storagePath}`,
    `--web.listen-address=${LOOPBACK}:${port}`,
    "--log.level=info",
    ...(opts.extraArgs ?? []),
  ];
  const c = await startComponent({
    name: "prometheus-agent",
    command: "prometheus",
    args,
    port,
    logDir: join(tempRoot(), "logs"),
    readyPath: "/-/ready",
  });
  return Object.assign(c, {
    storagePath,
    setBearerToken(token: string) {
      if (opts.bearerToken === undefined) throw new Error("the Prometheus agent was started without bearerToken");
      writePrivateFile(dir, "bearer-token", token);
    },
    async remoteWriteStats(): Promise<PrometheusRemoteWriteStats> {
      const m = await c.metrics();
      return {
        samplesSent: sumOf(m, "prometheus_remote_storage_samples_total"),
        samplesFailed: sumOf(m, "prometheus_remote_storage_samples_failed_total"),
        samplesRetried: sumOf(m, "prometheus_remote_storage_samples_retried_total"),
        samplesDropped: sumOf(m, "prometheus_remote_storage_samples_dropped_total"),
        samplesPending: sumOf(m, "prometheus_remote_storage_samples_pending"),
      };
    },
  }) as PrometheusAgent;
}

// ---------------------------------------------------------------------------------------------
// vmalert

export interface VmalertOptions {
  /** Base URL queried at <url>/api/v1/query (vmalert appends the path). */
  datasourceUrl: string;
  /** Base URL written at <url>/api/v1/write (vmalert appends the path). */
  remoteWriteUrl?: string;
  /** Base URL for restoring alert state at start (<url>/api/v1/query). */
  remoteReadUrl?: string;
  /** Used for datasource, remote write and remote read alike (0600 files). */
  bearerToken?: string;
  /** Path to a rules file, or… */
  rulesFile?: string;
  /** …the YAML text of one (written to a temp file). */
  rules?: string;
  /** Default "1s". */
  evaluationInterval?: string;
  /** Default "200ms". */
  remoteWriteFlushInterval?: string;
  /**
   * Alertmanager URL. 1.79.5 refuses to start with alerting rules and no notifier (there is no
   * -notifier.blackhole yet): point it at a recording upstream if a test has alerting rules.
   */
  notifierUrl?: string;
  port?: number;
  extraArgs?: string[];
}

export type Vmalert = Component;

export async function startVmalert(opts: VmalertOptions): Promise<Vmalert> {
  const port = opts.port ?? (await freePort());
  const dir = makeTempDir("vmalert");
  const rulesFile =
    opts.rulesFile ?? (opts.rules !== undefined ? writePrivateFile(dir, "rules.yml", opts.rules) : undefined);
  if (rulesFile === undefined) throw new Error("startVmalert: rulesFile or rules is required");
  const args = [
    `-httpListenAddr=${LOOPBACK}:${port}`,
    `-rule=${resolve(rulesFile)}`,
    `-datasource.url=${opts.datasourceUrl}`,
    `-evaluationInterval=${opts.evaluationInterval ?? "1s"}`,
    "-loggerLevel=INFO",
  ];
  const tokenFile = opts.bearerToken !== undefined ? writePrivateFile(dir, "bearer-token", opts.bearerToken) : undefined;
  if (tokenFile) args.push(`-datasource.bearerTokenFile=${tokenFile}`);
  if (opts.remoteWriteUrl !== undefined) {
    args.push(
      `-remoteWrite.url=${opts.remoteWriteUrl}`,
      `-remoteWrite.flushInterval=${opts.remoteWriteFlushInterval ?? "200ms"}`,
    );
    if (tokenFile) args.push(`-remoteWrite.bearerTokenFile=${tokenFile}`);
  }
  if (opts.notifierUrl !== undefined) args.push(`-notifier.url=${opts.notifierUrl}`);
  if (opts.remoteReadUrl !== undefined) {
    args.push(`-remoteRead.url=${opts.remoteReadUrl}`);
    if (tokenFile) args.push(`-remoteRead.bearerTokenFile=${tokenFile}`);
  }
  args.push(...(opts.extraArgs ?? []));
  return startComponent({
    name: "vmalert",
    command: "vmalert",
    args,
    port,
    logDir: join(tempRoot(), "logs"),
    readyPath: "/health",
  });
}

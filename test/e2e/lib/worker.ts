// Run the Worker in workerd through miniflare's API, on a free 127.0.0.1 port, with local KV,
// D1 and Durable Object state persisted in a directory that survives stop()/restart().
//
// How:
// 1. Bundle with `wrangler deploy --dry-run --outdir`: the exact script `wrangler deploy` would
//    upload (same esbuild settings, nodejs_compat handling, `define`s), no account or network.
// 2. Read wrangler.toml with wrangler's own reader and turn it into miniflare worker options
//    (bindings, Durable Objects, compatibility date and flags) with
//    `unstable_getMiniflareWorkerOptions`, so new bindings need no change here.
// 3. Start `new Miniflare(convertV4MiniflareOptions(...))`: miniflare 5 takes `workers: [...]`;
//    wrangler still produces the v4 flat shape, and miniflare ships the converter.
// 4. Apply migrations/*.sql through the D1 binding, recorded in `d1_migrations` the way
//    `wrangler d1 migrations apply` does, so a restart applies only new ones.
// Secrets ADMIN_API_KEY and TOKEN_ENCRYPTION_KEY are random per harness unless given.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";
import {
  unstable_getMiniflareWorkerOptions,
  unstable_readConfig,
  unstable_splitSqlQuery,
} from "wrangler";
import { LOOPBACK, fetchWithTimeout, freePort, makeTempDir, tempRoot } from "./processes.ts";

export const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));

// The slices of the bindings the suite touches from Node, typed here because miniflare's own
// types need @cloudflare/workers-types, which this project does not install.
export interface D1Statement {
  bind(...values: unknown[]): D1Statement;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  all<T = Record<string, unknown>>(): Promise<{ results: T[] }>;
  run(): Promise<unknown>;
}
export interface D1 {
  prepare(sql: string): D1Statement;
  batch(statements: D1Statement[]): Promise<unknown[]>;
}
export interface KV {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number; metadata?: unknown }): Promise<void>;
  delete(key: string): Promise<void>;
  list(options?: { prefix?: string; limit?: number; cursor?: string }): Promise<{
    keys: { name: string; expiration?: number; metadata?: unknown }[];
    list_complete: boolean;
    cursor?: string;
  }>;
}
export interface DONamespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(input: string, init?: RequestInit): Promise<Response> } & Record<string, unknown>;
}

export interface WorkerHarnessOptions {
  /** Project root; default: this repository. */
  root?: string;
  /** Default `<root>/wrangler.toml`. */
  configPath?: string;
  /** Local state (KV, D1, Durable Objects); default: a fresh temp dir. Reuse it to keep state. */
  stateDir?: string;
  /** Default: a free port. Kept across restart(). */
  port?: number;
  /** Override [vars] from wrangler.toml (e.g. UPSTREAM_TIMEOUT_MS). */
  vars?: Record<string, string>;
  /** Default: random per harness. */
  adminApiKey?: string;
  /** 32 bytes, base64. Default: random per harness. Keep it when reusing a stateDir. */
  tokenEncryptionKey?: string;
  /** Apply pending D1 migrations on every start (default true). */
  migrate?: boolean;
  /** A bundle directory from an earlier bundleWorker(); skips the build. */
  bundleDir?: string;
}

export interface WorkerHarness {
  /** http://127.0.0.1:<port> (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly stateDir: string;
  readonly bundleDir: string;
  readonly adminApiKey: string;
  readonly tokenEncryptionKey: string;
  /** workerd's stdout/stderr (console.log of the Worker) and miniflare's warnings. */
  readonly logFile: string;
  /** The live Miniflare instance (replaced by restart()). */
  miniflare(): Miniflare;
  /** fetch(`${url}${path}`) with a deadline: real HTTP over loopback, like any client. */
  fetch(path: string, init?: RequestInit, timeoutMs?: number): Promise<Response>;
  d1(binding?: string): Promise<D1>;
  kv(binding?: string): Promise<KV>;
  durableObjects(binding?: string): Promise<DONamespace>;
  /** Names of migrations recorded as applied, in order. */
  appliedMigrations(): Promise<string[]>;
  /** Dispose miniflare (workerd exits); state stays in stateDir. */
  stop(): Promise<void>;
  /** stop(), then a new workerd on the same port and state; `rebuild` re-bundles src first. */
  restart(opts?: { rebuild?: boolean }): Promise<void>;
}

const BUILD_TIMEOUT_MS = 60_000;
const START_TIMEOUT_MS = 30_000;

/**
 * `wrangler deploy --dry-run --outdir <dir>`: bundle the Worker exactly as deploy would.
 * Runs wrangler under this Node (the pinned v24: wrangler refuses Node < 22.12).
 */
export async function bundleWorker(root = REPO_ROOT, configPath = join(root, "wrangler.toml"), outDir = makeTempDir("worker-bundle")): Promise<string> {
  const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
  const args = [wrangler, "deploy", "--dry-run", "--config", configPath, "--outdir", outDir];
  const output = await new Promise<{ code: number | null; text: string }>((ok) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let text = "";
    child.stdout.on("data", (c: Buffer) => (text += c.toString()));
    child.stderr.on("data", (c: Buffer) => (text += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), BUILD_TIMEOUT_MS);
    child.once("close", (code) => {
      clearTimeout(timer);
      ok({ code, text });
    });
  });
  if (output.code !== 0 || !existsSync(join(outDir, "index.js"))) {
    throw new Error(`wrangler deploy --dry-run failed (exit ${output.code}):\n${output.text.slice(-3000)}`);
  }
  return outDir;
}

/**
 * Apply `<dir>/*.sql` in name order that are not yet in the migrations table, each in one
 * D1 batch together with its bookkeeping row. Returns the names applied now.
 */
export async function applyMigrations(db: D1, dir: string, table = "d1_migrations"): Promise<string[]> {
  const t = `"${table.replace(/"/g, '""')}"`;
  await db
    .prepare(
      `CREATE TABLE IF NOT EXISTS ${t}(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)`,
    )
    .run();
  const done = new Set(
    ((await db.prepare(`SELECT name FROM ${t} ORDER BY id`).all<{ name: string }>()).results ?? []).map((r) => r.name),
  );
  const applied: string[] = [];
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".sql")).sort() : [];
  for (const name of files) {
    if (done.has(name)) continue;
    const statements = unstable_splitSqlQuery(readFileSync(join(dir, name), "utf8")).filter((s) => s.trim() !== "");
    await db.batch([
      ...statements.map((s) => db.prepare(s)),
      db.prepare(`INSERT INTO ${t} (name) VALUES (?)`).bind(name),
    ]);
    applied.push(name);
  }
  return applied;
}

/** miniflare Log that appends to a file instead of the console. */
class FileLog extends Log {
  readonly #file: string;
  constructor(file: string) {
    super(LogLevel.WARN);
    this.#file = file;
  }
  protected override log(message: string): void {
    appendFileSync(this.#file, `${message}\n`);
  }
}

/** Stop functions of Workers still running; miniflare itself also kills workerd on exit. */
const running = new Set<() => Promise<void>>();

/** Stop every Worker started here (for afterAll). */
export async function stopAllWorkers(): Promise<void> {
  await Promise.all([...running].map((s) => s()));
  running.clear();
}

export async function startWorker(opts: WorkerHarnessOptions = {}): Promise<WorkerHarness> {
  const root = resolve(opts.root ?? REPO_ROOT);
  const configPath = resolve(root, opts.configPath ?? "wrangler.toml");
  const stateDir = opts.stateDir ?? makeTempDir("worker-state");
  const port = opts.port ?? (await freePort());
  const adminApiKey = opts.adminApiKey ?? randomBytes(24).toString("base64url");
  const tokenEncryptionKey = opts.tokenEncryptionKey ?? randomBytes(32).toString("base64");
  const logDir = join(tempRoot(), "logs");
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `worker-${port}.log`);
  let bundleDir = opts.bundleDir ?? (await bundleWorker(root, configPath));

  const config = unstable_readConfig({ config: configPath }, { hideWarnings: true });
  const d1Config = config.d1_databases.find((d: { binding: string }) => d.binding === "DB") as
    | { migrations_dir?: string; migrations_table?: string }
    | undefined;
  const migrationsDir = resolve(root, d1Config?.migrations_dir ?? "migrations");
  const migrationsTable = d1Config?.migrations_table ?? "d1_migrations";

  const options = () => {
    const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
    // - rootPath/modulesRoot: the bundle lives outside the project, and workerd refuses module
    //   names that climb out of the root ("can't use '..' to break out of starting directory").
    // - modulesRules: the v4->v5 converter refuses them; wrangler's bundle is one ES module.
    const {
      rootPath: _rootPath,
      modulesRules: _modulesRules,
      ...worker
    } = workerOptions as typeof workerOptions & { rootPath?: string; modulesRules?: unknown };
    return convertV4MiniflareOptions({
      ...worker,
      name: config.name,
      modules: true,
      modulesRoot: bundleDir,
      scriptPath: join(bundleDir, "index.js"),
      bindings: {
        ...(worker.bindings ?? {}),
        ACCESS_ENDPOINT: `http://${LOOPBACK}:${port}`, // what the management API reports
        ...opts.vars,
        ADMIN_API_KEY: adminApiKey,
        TOKEN_ENCRYPTION_KEY: tokenEncryptionKey,
      },
      host: LOOPBACK,
      port,
      cf: false, // no fetch of Request.cf data: works offline, starts at once
      resourcePersistencePath: stateDir,
      logRequests: false,
      log: new FileLog(logFile),
      handleStructuredLogs: ({ level, message }: { level: string; message: string }) =>
        appendFileSync(logFile, `${new Date().toISOString()} ${level} ${message}\n`),
    } as Parameters<typeof convertV4MiniflareOptions>[0]);
  };

  let mf: Miniflare | undefined;
  const start = async () => {
    appendFileSync(logFile, `--- ${new Date().toISOString()} start workerd on ${LOOPBACK}:${port}, state ${stateDir}\n`);
    const instance = new Miniflare(options());
    const timeout = new Promise<never>((_, fail) =>
      setTimeout(() => fail(new Error(`miniflare not ready after ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS).unref(),
    );
    try {
      await Promise.race([instance.ready, timeout]);
    } catch (e) {
      await instance.dispose().catch(() => undefined);
      throw e;
    }
    mf = instance;
    if (opts.migrate ?? true) {
      await applyMigrations((await instance.getD1Database("DB")) as unknown as D1, migrationsDir, migrationsTable);
    }
  };
  const live = () => {
    if (!mf) throw new Error("the Worker is stopped");
    return mf;
  };
  const stop = async () => {
    const instance = mf;
    mf = undefined;
    if (instance) await instance.dispose();
  };
  running.add(stop);

  await start();
  const url = `http://${LOOPBACK}:${port}`;
  return {
    url,
    port,
    stateDir,
    get bundleDir() {
      return bundleDir;
    },
    adminApiKey,
    tokenEncryptionKey,
    logFile,
    miniflare: live,
    fetch: (path, init = {}, timeoutMs = 10_000) => fetchWithTimeout(`${url}${path}`, init, timeoutMs),
    d1: async (binding = "DB") => (await live().getD1Database(binding)) as unknown as D1,
    kv: async (binding = "TOKENS_KV") => (await live().getKVNamespace(binding)) as unknown as KV,
    durableObjects: async (binding = "TOKEN_LIMITER") =>
      (await live().getDurableObjectNamespace(binding)) as unknown as DONamespace,
    async appliedMigrations() {
      const db = (await live().getD1Database("DB")) as unknown as D1;
      const t = `"${migrationsTable.replace(/"/g, '""')}"`;
      return ((await db.prepare(`SELECT name FROM ${t} ORDER BY id`).all<{ name: string }>()).results ?? []).map(
        (r) => r.name,
      );
    },
    async stop() {
      await stop();
      running.delete(stop);
    },
    async restart(r = {}) {
      await stop();
      if (r.rebuild) bundleDir = await bundleWorker(root, configPath);
      running.add(stop);
      await start();
    },
  };
}


// The CLI's HTTP side: the /admin base URL, one request with the exit code its failure maps to,
// and lists followed through their `Link: <…>; rel="next"` pages.

export const NAME = "vm-edge-authorizer";

/** Exit codes (stable, for scripts). */
export const EXIT = Object.freeze({ OK: 0, API: 1, USAGE: 2, UNAVAILABLE: 3 });
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const TIMEOUT_MS = Number(process.env.VMEA_TIMEOUT_MS) || 30_000;

export class CliError extends Error {
  readonly exitCode: ExitCode;
  /** The API's JSON error body, printed as is with --json. */
  readonly body: unknown;
  constructor(exitCode: ExitCode, message: string, body?: unknown) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
    this.body = body;
  }
}

export const usage = (message: string) => new CliError(EXIT.USAGE, `${message}\nRun "${NAME} --help" for usage.`);

/** The /admin base of a Worker URL. */
export function adminBase(url: string): string {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw usage(`--url: ${JSON.stringify(url)} is not an absolute URL`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") throw usage("--url: must be http:// or https://");
  const path = base.pathname.replace(/\/+$/, "");
  base.pathname = path.endsWith("/admin") ? path : `${path}/admin`;
  base.search = "";
  base.hash = "";
  return base.href;
}

export type Query = Record<string, string | number | undefined>;

interface Answer<T> {
  body: T;
  headers: Headers;
}

function errorField(parsed: unknown, field: "message" | "error"): string | undefined {
  if (parsed === null || typeof parsed !== "object") return undefined;
  const value = (parsed as Record<string, unknown>)[field];
  return typeof value === "string" ? value : undefined;
}

export class Api {
  readonly base: string;
  readonly apiKey: string | undefined;
  constructor(base: string, apiKey: string | undefined) {
    this.base = base;
    this.apiKey = apiKey;
  }

  /** Sends one request; resolves to { body, headers } on 2xx, throws CliError otherwise. */
  async request<T = unknown>(method: string, path: string, { body, query, auth = true }: { body?: unknown; query?: Query; auth?: boolean } = {}): Promise<Answer<T>> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return this.requestUrl<T>(method, url.href, { body, auth });
  }

  async requestUrl<T = unknown>(method: string, url: string, { body, auth = true }: { body?: unknown; auth?: boolean } = {}): Promise<Answer<T>> {
    if (auth && !this.apiKey) throw usage("no API key: pass --api-key or --api-key-file, or set VMEA_API_KEY");
    const headers: Record<string, string> = { accept: "application/json", "user-agent": `${NAME}-cli` };
    if (auth && this.apiKey) headers["x-vm-cloud-access"] = this.apiKey;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(TIMEOUT_MS), redirect: "error" });
    } catch (err) {
      const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } } | undefined;
      const why = e?.name === "TimeoutError" ? `no answer within ${TIMEOUT_MS} ms` : (e?.cause?.code ?? e?.cause?.message ?? e?.message);
      throw new CliError(EXIT.UNAVAILABLE, `cannot reach ${new URL(url).origin}: ${why}`);
    }
    const text = await res.text();
    let parsed: unknown;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new CliError(res.status >= 400 && res.status < 500 ? EXIT.API : EXIT.UNAVAILABLE, `${res.status} from ${method} ${new URL(url).pathname}: the answer is not JSON`);
      }
    }
    if (res.ok) return { body: parsed as T, headers: res.headers };
    const message = errorField(parsed, "message") ?? res.statusText;
    const code = errorField(parsed, "error");
    throw new CliError(res.status >= 500 ? EXIT.UNAVAILABLE : EXIT.API, `${res.status} ${code ? `${code}: ` : ""}${message}`, parsed);
  }

  /** GET a list, following `Link: <…>; rel="next"` when `all` is set. */
  async list<T>(path: string, query: Query = {}, all = false): Promise<T[]> {
    let { body, headers } = await this.request<T[]>("GET", path, { query });
    const items = [...body];
    while (all) {
      const next = /<([^>]+)>;\s*rel="next"/.exec(headers.get("link") ?? "")?.[1];
      if (!next) break;
      ({ body, headers } = await this.requestUrl<T[]>("GET", next));
      items.push(...body);
    }
    return items;
  }
}

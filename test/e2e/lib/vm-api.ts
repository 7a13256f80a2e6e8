// The few VictoriaMetrics HTTP APIs the suite reads and writes, against any base URL: the
// VictoriaMetrics process itself, or the Worker in front of it (then pass the access token).
// Every call has a deadline.

import { fetchWithTimeout, waitFor, type WaitOptions } from "./processes.ts";

export interface ApiOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  timeoutMs?: number;
}

export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export interface InstantSample {
  metric: Record<string, string>;
  value: [number, string];
}

function headers(opts: ApiOptions, extra: Record<string, string> = {}): Record<string, string> {
  return opts.token === undefined ? extra : { ...extra, authorization: `Bearer ${opts.token}` };
}

async function ok(res: Response, what: string): Promise<Response> {
  if (res.ok) return res;
  const body = (await res.text()).slice(0, 300);
  throw new Error(`${what}: HTTP ${res.status} ${body}`);
}

/** POST Prometheus text lines (optionally with millisecond timestamps) to /api/v1/import/prometheus. */
export async function importPrometheus(baseUrl: string, lines: string, opts: ApiOptions = {}): Promise<Response> {
  const res = await fetchWithTimeout(
    `${baseUrl}/api/v1/import/prometheus`,
    { method: "POST", body: lines, headers: headers(opts, { "content-type": "text/plain" }) },
    opts.timeoutMs,
  );
  return ok(res, "import/prometheus");
}

/**
 * Ask single-node VictoriaMetrics to make pending rows searchable now (/internal/force_flush).
 * Only for the VictoriaMetrics process itself: the Worker never forwards /internal/*.
 */
export async function forceFlush(vmUrl: string): Promise<void> {
  await ok(await fetchWithTimeout(`${vmUrl}/internal/force_flush`), "force_flush");
}

/** /api/v1/export for one series selector: every raw sample, duplicates included. */
export async function exportSeries(
  baseUrl: string,
  match: string,
  range: { start?: number | string; end?: number | string } = {},
  opts: ApiOptions = {},
): Promise<ExportedSeries[]> {
  const q = new URLSearchParams({ "match[]": match });
  if (range.start !== undefined) q.set("start", String(range.start));
  if (range.end !== undefined) q.set("end", String(range.end));
  const res = await ok(
    await fetchWithTimeout(`${baseUrl}/api/v1/export?${q}`, { headers: headers(opts) }, opts.timeoutMs),
    "export",
  );
  const text = await res.text();
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as ExportedSeries);
}

/** /api/v1/query; resolves to the instant vector. */
export async function queryInstant(
  baseUrl: string,
  query: string,
  time?: number,
  opts: ApiOptions = {},
): Promise<InstantSample[]> {
  const q = new URLSearchParams({ query });
  if (time !== undefined) q.set("time", String(time));
  const res = await ok(
    await fetchWithTimeout(`${baseUrl}/api/v1/query?${q}`, { headers: headers(opts) }, opts.timeoutMs),
    "query",
  );
  const body = (await res.json()) as { status: string; data: { resultType: string; result: InstantSample[] } };
  if (body.status !== "success") throw new Error(`query: status ${body.status}`);
  return body.data.result;
}

/** Total number of raw samples the export returns for `match` (duplicates counted). */
export function countSamples(series: ExportedSeries[]): number {
  return series.reduce((n, s) => n + s.values.length, 0);
}

/**
 * Poll /api/v1/export until at least `expected` raw samples match, then return the export.
 * Pass `vmUrl` to also force a flush on each round (direct VictoriaMetrics access only).
 */
export async function waitForSamples(
  baseUrl: string,
  match: string,
  expected: number,
  opts: WaitOptions & { token?: string; vmUrl?: string } = {},
): Promise<ExportedSeries[]> {
  return waitFor(
    async () => {
      if (opts.vmUrl !== undefined) await forceFlush(opts.vmUrl);
      const series = await exportSeries(baseUrl, match, {}, { token: opts.token });
      const n = countSamples(series);
      if (n >= expected) return series;
      throw new Error(`${n} of ${expected} samples of ${match}`);
    },
    { timeoutMs: opts.timeoutMs ?? 15_000, intervalMs: opts.intervalMs ?? 250, what: opts.what ?? `samples of ${match}` },
  );
}

/**
 * Poll /api/v1/query until `accept` likes the result. Needed even after /api/v1/export shows a
 * sample: in 1.79.5 the query path can lag the export path by about a second.
 */
export async function waitForQuery(
  baseUrl: string,
  query: string,
  accept: (result: InstantSample[]) => boolean,
  opts: WaitOptions & { token?: string; time?: number } = {},
): Promise<InstantSample[]> {
  let last: InstantSample[] = [];
  return waitFor(
    async () => {
      last = await queryInstant(baseUrl, query, opts.time, { token: opts.token });
      if (accept(last)) return last;
      throw new Error(`unexpected result ${JSON.stringify(last).slice(0, 300)}`);
    },
    { timeoutMs: opts.timeoutMs ?? 10_000, intervalMs: opts.intervalMs ?? 250, what: opts.what ?? `query ${query}` },
  );
}

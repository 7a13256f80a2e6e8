// The HTTP calls Grafana's Prometheus data source makes, issued the way it issues them
// (grafana/grafana pkg/promlib/client/client.go):
// - queries (`query`, `query_range`) with the data source's HTTP method: POST sends the
//   parameters as an `application/x-www-form-urlencoded` body, GET in the query string; times
//   are Unix seconds with a fraction, `step` in seconds;
// - resource calls: `labels` and `series` follow the HTTP method too; `label/<name>/values`,
//   `metadata` and `status/buildinfo` are GET only (`endpointsSupportOnlyGet`);
// - the data source's URL is a base the paths are joined to, so `<base>/api/v1/...`;
// - the token goes in a custom `Authorization: Bearer <token>` header (HTTP header auth).

import { fetchWithTimeout } from "./processes.ts";

export type GrafanaHttpMethod = "POST" | "GET";

export interface GrafanaCall {
  name: string;
  method: "GET" | "POST";
  /** Path relative to the data source URL, without query. */
  path: string;
  /** Query string (GET) or form body (POST). */
  params: URLSearchParams;
}

export interface GrafanaAnswer extends GrafanaCall {
  status: number;
  /** Parsed JSON when the answer is JSON. */
  json?: unknown;
  text: string;
}

export interface GrafanaOptions {
  /** Data source URL, e.g. http://worker, http://worker/select/7/prometheus, http://worker/prometheus. */
  baseUrl: string;
  token: string;
  /** The data source's "HTTP method" setting; Grafana's default is POST. */
  httpMethod?: GrafanaHttpMethod;
  /** A series selector to query, e.g. `e2e_sample_total{run="abc"}`. */
  selector: string;
  /** A label to list the values of; default `__name__`. */
  labelName?: string;
  /** Time range in ms; default the last 5 minutes. */
  range?: { start: number; end: number };
}

const seconds = (ms: number) => String(ms / 1000);

/** The seven calls, in the order a dashboard and the query editor make them. */
export function grafanaCalls(opts: GrafanaOptions): GrafanaCall[] {
  const m = opts.httpMethod ?? "POST";
  const end = opts.range?.end ?? Date.now();
  const start = opts.range?.start ?? end - 5 * 60_000;
  const range = { start: seconds(start), end: seconds(end) };
  const label = opts.labelName ?? "__name__";
  return [
    { name: "buildinfo", method: "GET", path: "/api/v1/status/buildinfo", params: new URLSearchParams() },
    { name: "query", method: m, path: "/api/v1/query", params: new URLSearchParams({ query: opts.selector, time: range.end }) },
    {
      name: "query_range",
      method: m,
      path: "/api/v1/query_range",
      params: new URLSearchParams({ query: opts.selector, ...range, step: "1" }),
    },
    { name: "labels", method: m, path: "/api/v1/labels", params: new URLSearchParams(range) },
    { name: "label values", method: "GET", path: `/api/v1/label/${encodeURIComponent(label)}/values`, params: new URLSearchParams(range) },
    { name: "series", method: m, path: "/api/v1/series", params: new URLSearchParams({ "match[]": opts.selector, ...range }) },
    { name: "metadata", method: "GET", path: "/api/v1/metadata", params: new URLSearchParams() },
  ];
}

/** Issue one call as Grafana's backend does. */
export async function issueGrafanaCall(opts: GrafanaOptions, call: GrafanaCall): Promise<GrafanaAnswer> {
  const base = opts.baseUrl.replace(/\/+$/, "");
  const headers: Record<string, string> = {
    Authorization: `Bearer ${opts.token}`,
    "User-Agent": "Grafana/11.5.0",
    Accept: "application/json",
  };
  let url = base + call.path;
  let body: string | undefined;
  if (call.method === "POST") {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    body = call.params.toString();
  } else if ([...call.params].length > 0) {
    url += `?${call.params}`;
  }
  const res = await fetchWithTimeout(url, { method: call.method, headers, body });
  const text = await res.text();
  let json: unknown;
  if ((res.headers.get("content-type") ?? "").includes("json")) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { ...call, status: res.status, json, text };
}

/** All seven calls, one after another. */
export async function runGrafanaCalls(opts: GrafanaOptions): Promise<GrafanaAnswer[]> {
  const out: GrafanaAnswer[] = [];
  for (const call of grafanaCalls(opts)) out.push(await issueGrafanaCall(opts, call));
  return out;
}

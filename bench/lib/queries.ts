// The two query workloads every section sends, to every target alike. They ask for gzip, as
// Grafana, vmalert and Prometheus do. Without an Accept-Encoding the targets would not move the
// same body: workerd presents every request to a Worker as accepting gzip, so the bare Worker
// (which forwards headers as they come) gets VictoriaMetrics' gzip and hands it to a client that
// never asked for it, while the authorizer asks for identity (issue 12) and relays the plain
// answer, about 5 times the bytes on query_range. `assertSameAnswers` checks it before a run.

/** The instant query: one series, a fixed time. */
export function instantQueryPath(t: number): string {
  return `/api/v1/query?query=${encodeURIComponent('bench_series{series="0"}')}&time=${t}`;
}

/** The range query: 5 series × 61 points over the hour before `t`. */
export function rangeQueryPath(t: number): string {
  return `/api/v1/query_range?query=bench_series&start=${t - 3600}&end=${t}&step=60`;
}

/** What a query client (Grafana, vmalert, Prometheus) sends besides its credential. */
export const QUERY_CLIENT_HEADERS: Readonly<Record<string, string>> = { "accept-encoding": "gzip" };

/**
 * Sends `workload` once to every target and throws unless each answers 2xx and every answer with
 * a body uses the same content coding as the first. An empty answer (a write's 204) moves no body,
 * whatever its Content-Encoding header says (workerd adds gzip to one).
 */
export async function assertSameAnswers(workload: string, requests: { target: string; url: string; init?: RequestInit }[]): Promise<void> {
  let first: { target: string; coding: string } | undefined;
  for (const { target, url, init } of requests) {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    const bytes = (await response.arrayBuffer()).byteLength;
    if (!response.ok) throw new Error(`${target} answers ${workload} with ${response.status}, not 2xx`);
    if (bytes === 0) continue;
    const coding = response.headers.get("content-encoding") ?? "identity";
    first ??= { target, coding };
    if (coding !== first.coding) {
      throw new Error(`${workload}: ${target} answers in ${coding}, ${first.target} in ${first.coding}: the targets would not move the same body`);
    }
  }
}

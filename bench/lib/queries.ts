// The two query workloads every section sends, to every target alike. They ask for gzip, as
// Grafana, vmalert and Prometheus do. Without an Accept-Encoding the targets would not move the
// same body: workerd presents every request to a Worker as accepting gzip, so the bare Worker
// (which forwards headers as they come) gets VictoriaMetrics' gzip and hands it to a client that
// never asked for it, while the authorizer asks for identity (issue 12) and relays the plain
// answer, about 5 times the bytes on query_range. `assertSameEncoding` checks it before a run.

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

/** A target's answer to a workload, as the pre-run check saw it. */
export interface Answer {
  target: string;
  response: Response;
  bytes: number;
}

/**
 * Throws unless every target that answered with a body used the same content coding. An empty
 * answer (a write's 204) moves no body, whatever its Content-Encoding header says.
 */
export function assertSameEncoding(workload: string, answers: Answer[]): void {
  const coding = (a: Answer) => a.response.headers.get("content-encoding") ?? "identity";
  const withBody = answers.filter((a) => a.bytes > 0);
  const first = withBody[0];
  for (const a of withBody) {
    if (first && coding(a) !== coding(first)) {
      throw new Error(`${workload}: ${a.target} answers in ${coding(a)}, ${first.target} in ${coding(first)}: the targets would not move the same body`);
    }
  }
}

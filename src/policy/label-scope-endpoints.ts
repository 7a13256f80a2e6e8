/**
 * Which endpoints a label-scoped token may use, keyed by the canonical cluster suffix of the URL
 * map (`ApiRoute.cluster`, so one row covers every spelling of an endpoint). An endpoint missing
 * here is refused: a route added to the URL map later stays closed to label-scoped tokens until
 * someone checks what VictoriaMetrics does with `extra_label` there.
 *
 * Each allowed row says why it is safe; every "honours" claim is checked against the real
 * VictoriaMetrics 1.79.5 by test/e2e/label-scope-vm.e2e.ts, and the refusals of endpoints that
 * 1.79.5 serves are backed there by showing that they ignore `extra_label`.
 */

export type EndpointScope =
  /** vminsert: reads `extra_label` from the URL query only (lib/protoparser/common GetExtraLabels). */
  | { kind: "insert"; why: string }
  /** vmselect: reads `extra_label` / `extra_filters[]` from `r.Form` (URL query merged with a form body). */
  | { kind: "select"; why: string }
  | { kind: "refuse"; why: string };

const insert = (why: string): EndpointScope => ({ kind: "insert", why });
const select = (why: string): EndpointScope => ({ kind: "select", why });
const refuse = (why: string): EndpointScope => ({ kind: "refuse", why });

const INGESTS = "ingests with every extra_label added last, and the last value of a label wins";
const NO_SERIES = "answers without any series data";
const SCOPED = "applies extra_label to its series selection";
const NOT_IN_1795 = "is not served by VictoriaMetrics 1.79.5, so what it does with extra_label is unverified";
const IGNORES = "ignores extra_label and would show series outside the token's labels";

export const LABEL_SCOPE_ENDPOINTS: Readonly<Record<string, EndpointScope>> = {
  // Ingestion (vminsert).
  "/prometheus/api/v1/write": insert(INGESTS),
  "/prometheus/api/v1/import": insert(INGESTS),
  "/prometheus/api/v1/import/csv": insert(INGESTS),
  "/prometheus/api/v1/import/native": insert(INGESTS),
  "/prometheus/api/v1/import/prometheus": insert(INGESTS),
  "/influx/write": insert(INGESTS),
  "/influx/api/v2/write": insert(INGESTS),
  "/datadog/api/v1/series": insert(INGESTS),
  "/influx/query": insert(`${NO_SERIES} (a fixed database list for Telegraf)`),
  "/influx/health": insert(NO_SERIES),
  "/datadog/api/v1/validate": insert(`${NO_SERIES} (a fixed answer, nothing is stored)`),
  "/datadog/api/v1/check_run": insert(`${NO_SERIES} (a fixed answer, nothing is stored)`),
  "/datadog/api/v1/metadata": insert(`${NO_SERIES} (a fixed answer, nothing is stored)`),
  "/datadog/intake": insert(`${NO_SERIES} (a fixed answer, nothing is stored)`),
  "/prometheus/api/v1/import/prometheus/metrics/job/{name+}": refuse(`${NOT_IN_1795}, and its path adds labels of its own`),
  "/opentelemetry/v1/metrics": refuse(NOT_IN_1795),
  "/opentelemetry/api/v1/push": refuse(NOT_IN_1795),
  "/datadog/api/v2/series": refuse(NOT_IN_1795),
  "/datadog/api/beta/sketches": refuse(NOT_IN_1795),
  "/newrelic": refuse(NOT_IN_1795),
  "/newrelic/inventory/deltas": refuse(NOT_IN_1795),
  "/newrelic/infra/v2/metrics/events/bulk": refuse(NOT_IN_1795),

  // Prometheus querying API (vmselect).
  "/prometheus/api/v1/query": select(`${SCOPED}: every series selector of the query`),
  "/prometheus/api/v1/query_range": select(`${SCOPED}: every series selector of the query`),
  "/prometheus/api/v1/series": select(SCOPED),
  "/prometheus/api/v1/labels": select(SCOPED),
  "/prometheus/api/v1/label/{name}/values": select(SCOPED),
  "/prometheus/api/v1/status/tsdb": select(SCOPED),
  "/prometheus/api/v1/export": select(SCOPED),
  "/prometheus/api/v1/export/csv": select(SCOPED),
  "/prometheus/api/v1/export/native": select(SCOPED),
  "/prometheus/federate": select(SCOPED),
  "/prometheus/api/v1/status/buildinfo": select(NO_SERIES),
  "/prometheus/prettify-query": select(`${NO_SERIES} (it reformats the query text it is sent)`),
  "/prometheus/expand-with-exprs": select(`${NO_SERIES} (it expands the query text it is sent)`),
  "/prometheus/api/v1/series/count": refuse(`${IGNORES} (it counts every series of the deployment or tenant)`),
  "/prometheus/api/v1/status/active_queries": refuse("shows the queries of every client, not only this token's"),
  "/prometheus/api/v1/status/top_queries": refuse("shows the queries of every client, not only this token's"),
  "/prometheus/api/v1/status/metric_names_stats": refuse(NOT_IN_1795),
  "/prometheus/api/v1/query_exemplars": refuse("has no label scope in VictoriaMetrics (1.79.5 answers an empty stub)"),
  "/prometheus/api/v1/metadata": refuse("has no label scope in VictoriaMetrics (newer releases list the metadata of every metric)"),
  "/prometheus/api/v1/rules": refuse("shows vmalert's rules and state, which carry no label scope"),
  "/prometheus/api/v1/alerts": refuse("shows vmalert's alerts, which carry no label scope"),

  // Graphite API (vmselect).
  "/graphite/tags/findSeries": select(SCOPED),
  "/graphite/tags/autoComplete/tags": select(SCOPED),
  "/graphite/tags/autoComplete/values": select(SCOPED),
  "/graphite/functions": select(`${NO_SERIES} (the list of Graphite functions)`),
  "/graphite/functions/{word}": select(`${NO_SERIES} (the description of a Graphite function)`),
  "/graphite/tags": refuse(IGNORES),
  "/graphite/tags/{name}": refuse(IGNORES),
  "/graphite/metrics/find": refuse(IGNORES),
  "/graphite/metrics/expand": refuse(IGNORES),
  "/graphite/metrics/index.json": refuse(IGNORES),
  "/graphite/render": refuse(NOT_IN_1795),
  "/graphite/tags/tagSeries": refuse("registers series without applying extra_label"),
  "/graphite/tags/tagMultiSeries": refuse("registers series without applying extra_label"),
  "/graphite/tags/delSeries": refuse("deletes by Graphite path; its use of extra_label is not verified"),

  // vmui: static files only; the queries it sends go through the API rows above.
  "/vmui": select(`${NO_SERIES} (static files of the web UI)`),
  "/vmui/": select(`${NO_SERIES} (static files of the web UI)`),
  "/vmui/{file+}": select(`${NO_SERIES} (static files of the web UI)`),

  // Deleting series: only the series selected with every extra_label applied are deleted.
  "/prometheus/api/v1/admin/tsdb/delete_series": select(`${SCOPED}: only matching series that carry the token's labels are deleted`),
};

import { ANSWER_INDEX, CLASS_INDEX, type Cells, PERMIT_WAIT_MS, PERMIT_WAITS, REQUEST_BYTES, RESPONSE_BYTES, latencyCell, latencySumCell, requestCell } from "./cells";
import { LATENCY_BOUNDS_MS, LATENCY_BUCKETS } from "./latency";
import { Answer, REFUSALS, UsageClass, isRefusal } from "./vocabulary";

/**
 * The Prometheus text exposition (format 0.0.4) of `GET /admin/metrics`: each token's stored
 * totals, which only grow (they survive restarts in the token's Durable Object), so every
 * counter is monotonic. Metric names and labels: docs/usage.md.
 */

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
export const METRIC_PREFIX = "vm_edge_authorizer_token_";
/** Longest token description put in a label (code points); longer ones end in "…". */
export const MAX_DESCRIPTION_LABEL = 64;

export interface TokenMetrics {
  deploymentId: string;
  tokenId: string;
  description: string;
  /** The token's `usage:total` counters. */
  total: Cells;
  /** Epoch ms of the last use, if any. */
  lastUsedAt?: number | undefined;
  /** Highest concurrency in the last few minutes (store's recent minute buckets), if known. */
  recentMaxConcurrency?: number | undefined;
}

/** Escapes a label value: backslash, double quote and line feed; other control characters and lone surrogates become U+FFFD. */
export function escapeLabelValue(value: string): string {
  return value
    .toWellFormed()
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, "\uFFFD")
    .replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/** A description cut to MAX_DESCRIPTION_LABEL code points. */
export function descriptionLabel(description: string): string {
  const points = Array.from(description);
  return points.length <= MAX_DESCRIPTION_LABEL ? description : `${points.slice(0, MAX_DESCRIPTION_LABEL - 1).join("")}…`;
}

type Labels = ReadonlyArray<readonly [string, string]>;
const labelText = (labels: Labels): string => `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
const seconds = (ms: number): string => String(ms / 1000);

interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram";
  help: string;
  samples: (t: TokenMetrics, base: Labels, out: string[]) => void;
}

const FAMILIES: readonly Family[] = [
  {
    name: "requests_total",
    type: "counter",
    help: "Requests answered for the token, by class and answer: reason=upstream with the upstream's status class as code, or our refusal reason with the status we answered.",
    samples(t, base, out) {
      for (const cls of UsageClass.options) {
        for (const answer of Answer.options) {
          const n = t.total[requestCell(CLASS_INDEX[cls], ANSWER_INDEX[answer])]!;
          if (n === 0) continue;
          const [code, reason] = isRefusal(answer) ? [String(REFUSALS[answer].status), answer] : [answer, "upstream"];
          out.push(`${METRIC_PREFIX}requests_total${labelText([...base, ["class", cls], ["code", code], ["reason", reason]])} ${n}`);
        }
      }
    },
  },
  {
    name: "request_bytes_total",
    type: "counter",
    help: "Request body bytes received for the token.",
    samples: (t, base, out) => void out.push(`${METRIC_PREFIX}request_bytes_total${labelText(base)} ${t.total[REQUEST_BYTES]}`),
  },
  {
    name: "response_bytes_total",
    type: "counter",
    help: "Response body bytes sent for the token.",
    samples: (t, base, out) => void out.push(`${METRIC_PREFIX}response_bytes_total${labelText(base)} ${t.total[RESPONSE_BYTES]}`),
  },
  {
    name: "upstream_latency_seconds",
    type: "histogram",
    help: "Time from forwarding a request to the upstream's response headers, by class.",
    samples(t, base, out) {
      for (const cls of UsageClass.options) {
        const c = CLASS_INDEX[cls];
        let cumulative = 0;
        for (let b = 0; b < LATENCY_BUCKETS; b++) cumulative += t.total[latencyCell(c) + b]!;
        if (cumulative === 0) continue;
        const labels: Labels = [...base, ["class", cls]];
        cumulative = 0;
        for (let b = 0; b < LATENCY_BUCKETS; b++) {
          cumulative += t.total[latencyCell(c) + b]!;
          const le = b < LATENCY_BOUNDS_MS.length ? seconds(LATENCY_BOUNDS_MS[b]!) : "+Inf";
          out.push(`${METRIC_PREFIX}upstream_latency_seconds_bucket${labelText([...labels, ["le", le]])} ${cumulative}`);
        }
        out.push(`${METRIC_PREFIX}upstream_latency_seconds_sum${labelText(labels)} ${seconds(t.total[latencySumCell(c)]!)}`);
        out.push(`${METRIC_PREFIX}upstream_latency_seconds_count${labelText(labels)} ${cumulative}`);
      }
    },
  },
  {
    name: "permit_waits_total",
    type: "counter",
    help: "Requests that waited for one of the token's concurrency permits.",
    samples: (t, base, out) => void out.push(`${METRIC_PREFIX}permit_waits_total${labelText(base)} ${t.total[PERMIT_WAITS]}`),
  },
  {
    name: "permit_wait_seconds_total",
    type: "counter",
    help: "Time requests spent waiting for one of the token's concurrency permits.",
    samples: (t, base, out) => void out.push(`${METRIC_PREFIX}permit_wait_seconds_total${labelText(base)} ${seconds(t.total[PERMIT_WAIT_MS]!)}`),
  },
  {
    name: "max_concurrency",
    type: "gauge",
    help: "Most of the token's requests in flight at once in one isolate over the last few minutes.",
    samples(t, base, out) {
      if (t.recentMaxConcurrency !== undefined) out.push(`${METRIC_PREFIX}max_concurrency${labelText(base)} ${t.recentMaxConcurrency}`);
    },
  },
  {
    name: "last_used_timestamp_seconds",
    type: "gauge",
    help: "When the token was last used (Unix time).",
    samples(t, base, out) {
      if (t.lastUsedAt !== undefined) out.push(`${METRIC_PREFIX}last_used_timestamp_seconds${labelText(base)} ${seconds(t.lastUsedAt)}`);
    },
  },
];

/** The exposition of every token given (each token id once), families in a fixed order, one HELP and TYPE each. */
export function renderMetrics(tokens: readonly TokenMetrics[]): string {
  const out: string[] = [];
  for (const family of FAMILIES) {
    const samples: string[] = [];
    for (const t of tokens) {
      const base: Labels = [
        ["deployment_id", t.deploymentId],
        ["token_id", t.tokenId],
        ["token_description", descriptionLabel(t.description)],
      ];
      family.samples(t, base, samples);
    }
    if (samples.length === 0) continue;
    out.push(`# HELP ${METRIC_PREFIX}${family.name} ${family.help}`, `# TYPE ${METRIC_PREFIX}${family.name} ${family.type}`, ...samples);
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}

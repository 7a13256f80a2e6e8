import { z } from "zod";
import { LastUse } from "./batch";
import { ANSWER_INDEX, CLASS_INDEX, type Cells, MAX_CONCURRENCY, PERMIT_WAIT_MS, PERMIT_WAITS, REQUEST_BYTES, RESPONSE_BYTES, latencyCell, requestCell } from "./cells";
import { LATENCY_BUCKETS, estimateQuantile } from "./latency";
import type { UsageQuery } from "./query";
import { type Series, seriesTotal, sumSeries } from "./series";
import { Answer, UsageClass, isRefusal } from "./vocabulary";

/**
 * The JSON answers of the usage endpoints, as zod schemas (for the OpenAPI document) and the
 * functions that build them from counters. Zero counts are left out of `answers` and `classes`.
 */

const Time = z.iso.datetime().meta({ description: "RFC 3339, UTC" });
const Count = z.number().int().nonnegative();

export const UsageSummary = z.object({
  requests: Count.meta({ description: "Requests answered, by the upstream or by us" }),
  refused: Count.meta({ description: "Requests we refused ourselves (any reason in `answers` other than 2xx/3xx/4xx/5xx)" }),
  answers: z.partialRecord(Answer, Count).meta({ description: "Requests by answer: the upstream's status class, or our refusal reason" }),
  classes: z.partialRecord(UsageClass, Count),
  request_bytes: Count,
  response_bytes: Count,
  latency_ms: z
    .object({ p50: z.number().nullable(), p90: z.number().nullable(), p99: z.number().nullable() })
    .meta({ description: "Upstream latency quantiles estimated from a histogram (within a factor √2 above 4 ms; docs/usage.md); null without upstream answers" }),
  max_concurrency: Count.meta({ description: "Most requests in flight at once in one isolate" }),
  permit_waits: Count.meta({ description: "Requests that waited for a concurrency permit" }),
  permit_wait_ms: Count.meta({ description: "Time those requests waited, in total" }),
});
export type UsageSummary = z.infer<typeof UsageSummary>;

export const UsagePoint = UsageSummary.extend({ at: Time });

export const LastUsed = z.object({
  at: Time,
  class: UsageClass,
  answer: Answer,
  address: z.string().optional(),
  country: z.string().optional(),
  colo: z.string().optional(),
  user_agent: z.string().optional(),
});

export const TokenUsage = z.object({
  since: Time,
  until: Time,
  step: z.string(),
  total: UsageSummary,
  points: z.array(UsagePoint),
  last_used: LastUsed.nullable(),
});
export type TokenUsage = z.infer<typeof TokenUsage>;

export const DeploymentUsage = TokenUsage.omit({ last_used: true }).extend({
  tokens: z.array(z.object({ token_id: z.string(), description: z.string(), total: UsageSummary, last_used: LastUsed.nullable() })),
});
export type DeploymentUsage = z.infer<typeof DeploymentUsage>;

const iso = (ms: number): string => new Date(ms).toISOString();

export function summarize(cells: Cells): UsageSummary {
  const answers: UsageSummary["answers"] = {};
  const classes: UsageSummary["classes"] = {};
  let requests = 0;
  let refused = 0;
  const latency = new Float64Array(LATENCY_BUCKETS);
  for (const cls of UsageClass.options) {
    const c = CLASS_INDEX[cls];
    for (const answer of Answer.options) {
      const n = cells[requestCell(c, ANSWER_INDEX[answer])]!;
      if (n === 0) continue;
      answers[answer] = (answers[answer] ?? 0) + n;
      classes[cls] = (classes[cls] ?? 0) + n;
      requests += n;
      if (isRefusal(answer)) refused += n;
    }
    for (let b = 0; b < LATENCY_BUCKETS; b++) latency[b]! += cells[latencyCell(c) + b]!;
  }
  return {
    requests,
    refused,
    answers,
    classes,
    request_bytes: cells[REQUEST_BYTES]!,
    response_bytes: cells[RESPONSE_BYTES]!,
    latency_ms: { p50: estimateQuantile(latency, 0.5), p90: estimateQuantile(latency, 0.9), p99: estimateQuantile(latency, 0.99) },
    max_concurrency: cells[MAX_CONCURRENCY]!,
    permit_waits: cells[PERMIT_WAITS]!,
    permit_wait_ms: cells[PERMIT_WAIT_MS]!,
  };
}

function lastUsed(last: LastUse | undefined): z.infer<typeof LastUsed> | null {
  if (last === undefined) return null;
  const { at, userAgent, ...rest } = last;
  return userAgent === undefined ? { at: iso(at), ...rest } : { at: iso(at), ...rest, user_agent: userAgent };
}

function body(q: UsageQuery, series: Series) {
  return {
    since: iso(q.since),
    until: iso(q.until),
    step: q.step,
    total: summarize(seriesTotal(series)),
    points: series.points.map((cells, i) => ({ at: iso(series.start + i * series.stepMs), ...summarize(cells) })),
  };
}

export function tokenUsage(q: UsageQuery, series: Series, last: LastUse | undefined): TokenUsage {
  return { ...body(q, series), last_used: lastUsed(last) };
}

/** A deployment's roll-up: its tokens' series added up, and each token's total over the range. */
export function deploymentUsage(q: UsageQuery, tokens: readonly { tokenId: string; description: string; series: Series; last: LastUse | undefined }[]): DeploymentUsage {
  return {
    ...body(q, sumSeries(q, tokens.map((t) => t.series))),
    tokens: tokens.map((t) => ({ token_id: t.tokenId, description: t.description, total: summarize(seriesTotal(t.series)), last_used: lastUsed(t.last) })),
  };
}


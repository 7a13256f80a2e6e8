/**
 * The ranges the console's Usage dialog offers, and the query each one asks the usage API for
 * (`since` and `step`, docs/usage.md "Reading it"). Pure and shared: the dialog's markup
 * (usage-dialog.tsx) and its script (client/usage.ts) both read it; unit-tested against the
 * server's own parseUsageQuery in test/unit/console-usage-ranges.test.ts.
 */

import type { UsageStep } from "../usage/query";

const HOUR_MS = 3_600_000;

export interface UsageRange {
  id: "24h" | "7d" | "30d";
  /** On the picker. */
  label: string;
  /** In sentences: "Token “x”, the last 7 days." */
  words: string;
  /** Under the chart's left end. */
  ago: string;
  step: UsageStep;
  /** In the legend: "(per hour)". */
  perStep: string;
  rangeMs: number;
}

/** ≤ 168 points each: the chart stays readable at phone width. */
export const USAGE_RANGES: readonly UsageRange[] = [
  { id: "24h", label: "24 h", words: "the last 24 hours", ago: "24 h ago", step: "15m", perStep: "per 15 minutes", rangeMs: 24 * HOUR_MS },
  { id: "7d", label: "7 d", words: "the last 7 days", ago: "7 d ago", step: "1h", perStep: "per hour", rangeMs: 7 * 24 * HOUR_MS },
  { id: "30d", label: "30 d", words: "the last 30 days", ago: "30 d ago", step: "6h", perStep: "per 6 hours", rangeMs: 30 * 24 * HOUR_MS },
];

export const DEFAULT_USAGE_RANGE = USAGE_RANGES[0]!;

export function usageRange(id: string | null | undefined): UsageRange {
  return USAGE_RANGES.find((r) => r.id === id) ?? DEFAULT_USAGE_RANGE;
}

/**
 * The query string for a range, by this (the browser's) clock. The last 24 hours use the server's
 * default `since` (24 h before its own now): a `since` by this clock, a little behind the
 * server's, would fall before the minute buckets and make a 15-minute step invalid. Longer ranges
 * use hour steps, which any `since` within 30 days allows; the 30 days start an hour late, so a
 * browser clock up to an hour behind the server's still asks within the 30 days kept.
 */
export function usageQueryString(range: UsageRange, now: number): string {
  if (range.rangeMs <= 24 * HOUR_MS) return `step=${range.step}`;
  const since = now - range.rangeMs + (range.rangeMs >= 30 * 24 * HOUR_MS ? HOUR_MS : 0);
  return `since=${encodeURIComponent(new Date(since).toISOString())}&step=${range.step}`;
}

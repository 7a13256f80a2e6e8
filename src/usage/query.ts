import { z } from "zod";
import { HOUR_MS, HOUR_RETENTION_MS, MINUTE_MS, MINUTE_RETENTION_MS } from "./store";

/**
 * The `since`, `until` and `step` query parameters of the usage endpoints, checked against what
 * is stored. A refusal is a value naming the field and the rule (the admin layer renders it as
 * `400 invalid_request`, message `<field>: <rule>`), never an exception.
 */

export const UsageStep = z.enum(["1m", "5m", "15m", "1h", "6h", "1d"]);
export type UsageStep = z.infer<typeof UsageStep>;
export const USAGE_STEPS: Readonly<Record<UsageStep, number>> = Object.freeze({
  "1m": MINUTE_MS,
  "5m": 5 * MINUTE_MS,
  "15m": 15 * MINUTE_MS,
  "1h": HOUR_MS,
  "6h": 6 * HOUR_MS,
  "1d": 24 * HOUR_MS,
});

/** Most points one answer may hold: a day of minutes, whatever its alignment, fits. */
export const MAX_POINTS = 1_500;
/** A default step is the shortest that gives at most this many points. */
const DEFAULT_POINTS = 300;
/** How far `until` may lie ahead of the server's clock (clients' clocks drift). */
export const MAX_FUTURE_MS = 5 * MINUTE_MS;
export const DEFAULT_RANGE_MS = 24 * HOUR_MS;

export interface UsageQuery {
  /** Epoch ms; points start at `since` rounded down to the step, and stop before `until`. */
  since: number;
  until: number;
  step: UsageStep;
  stepMs: number;
}

export type QueryResult = { ok: true; query: UsageQuery } | { ok: false; field: "since" | "until" | "step"; rule: string };

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;

/** Epoch ms of an RFC 3339 date-time with an offset (`2026-11-29T07:00:00Z`), or undefined. Leap seconds are refused. */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  const offsetMin = m[8]!.toUpperCase() === "Z" ? 0 : (m[9] === "-" ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  if (Number(m[10] ?? 0) > 23 || Number(m[11] ?? 0) > 59) return undefined;
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC maps years 0–99 to 1900–1999; no such date is in range anyway, so refuse them here.
  return year < 100 ? undefined : utc - offsetMin * MINUTE_MS;
}

export function parseUsageQuery(raw: { since?: string | undefined; until?: string | undefined; step?: string | undefined }, now: number): QueryResult {
  let until = now;
  if (raw.until !== undefined) {
    const t = parseRfc3339(raw.until);
    if (t === undefined) return { ok: false, field: "until", rule: "must be an RFC 3339 date-time with an offset, e.g. 2026-11-29T07:00:00Z" };
    if (t > now + MAX_FUTURE_MS) return { ok: false, field: "until", rule: "must not be more than 5 minutes in the future" };
    if (t <= now - HOUR_RETENTION_MS) return { ok: false, field: "until", rule: "must be within the last 30 days (usage is kept that long)" };
    until = t;
  }
  let since = Math.max(until - DEFAULT_RANGE_MS, now - HOUR_RETENTION_MS);
  if (raw.since !== undefined) {
    const t = parseRfc3339(raw.since);
    if (t === undefined) return { ok: false, field: "since", rule: "must be an RFC 3339 date-time with an offset, e.g. 2026-11-28T07:00:00Z" };
    if (t < now - HOUR_RETENTION_MS) return { ok: false, field: "since", rule: "must be within the last 30 days (usage is kept that long)" };
    since = t;
  }
  if (since >= until) return { ok: false, field: "since", rule: "must be before until" };
  const minuteData = since >= now - MINUTE_RETENTION_MS;
  let step: UsageStep;
  if (raw.step !== undefined) {
    const s = UsageStep.safeParse(raw.step);
    if (!s.success) return { ok: false, field: "step", rule: `must be one of ${UsageStep.options.map((o) => JSON.stringify(o)).join(", ")}` };
    step = s.data;
    if (!minuteData && USAGE_STEPS[step] < HOUR_MS) return { ok: false, field: "step", rule: "must be 1h or longer when since is more than 24 hours ago (older usage is kept per hour)" };
    const points = pointCount(since, until, USAGE_STEPS[step]);
    if (points > MAX_POINTS) return { ok: false, field: "step", rule: `gives ${points} points, more than ${MAX_POINTS}: use a longer step or a shorter range` };
  } else {
    step = UsageStep.options.find((o) => (minuteData || USAGE_STEPS[o] >= HOUR_MS) && pointCount(since, until, USAGE_STEPS[o]) <= DEFAULT_POINTS) ?? "1d";
  }
  return { ok: true, query: { since, until, step, stepMs: USAGE_STEPS[step] } };
}

/** Points from `since` rounded down to the step up to (not including) `until`. */
export function pointCount(since: number, until: number, stepMs: number): number {
  const first = Math.floor(since / stepMs) * stepMs;
  return Math.ceil((until - first) / stepMs);
}

/**
 * The pieces of a usage view the token dialog (usage.ts) and a deployment's roll-up
 * (deployment-usage.ts) share: the totals, the refusals by reason, the traffic figures and the
 * chart. Built with createElement / createElementNS and attributes only (no markup parsing: see
 * dom.ts); the chart's geometry is chart-path.ts's.
 */
import type { UsageSummary } from "../../usage/report";
import { DEFAULT_USAGE_RANGE, type UsageRange } from "../usage-ranges";
import { niceCeiling, nonZero, stepAreaPath } from "./chart-path";
import { formatTime, h } from "./dom";
import { bytes, duration } from "./format";

/** The chart's drawing box; the SVG stretches it to the dialog's width (fills only, no strokes to distort). */
const WIDTH = 600;
const HEIGHT = 160;
/** The upstream's own answers; every other answer is one of our refusals (src/usage/vocabulary.ts). */
const UPSTREAM_ANSWERS = new Set(["2xx", "3xx", "4xx", "5xx"]);
const SVG = "http://www.w3.org/2000/svg";

export const count = (n: number): string => n.toLocaleString("en-US");

/** Requests, our refusals (with their share), upstream 5xx, and the refusals by reason. */
export function totals(total: UsageSummary): HTMLElement[] {
  const refusedShare = total.requests > 0 ? ` (${Math.round((100 * total.refused) / total.requests)} %)` : "";
  const list = h(
    "dl",
    { class: "usage-totals" },
    h("div", {}, h("dt", {}, "Requests"), h("dd", { "data-usage-total": "requests" }, count(total.requests))),
    h("div", {}, h("dt", {}, "Refused by the authorizer"), h("dd", { "data-usage-total": "refused" }, `${count(total.refused)}${refusedShare}`)),
    h("div", {}, h("dt", {}, "Upstream errors (5xx)"), h("dd", { "data-usage-total": "5xx" }, count(total.answers["5xx"] ?? 0))),
  );
  const reasons = Object.entries(total.answers)
    .filter(([answer, n]) => !UPSTREAM_ANSWERS.has(answer) && (n ?? 0) > 0)
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
    .map(([answer, n]) => h("li", {}, h("code", {}, answer), ` ${count(n ?? 0)}`));
  return [list, ...(reasons.length > 0 ? [h("p", { class: "help" }, "Refusals by reason:"), h("ul", { class: "usage-reasons" }, ...reasons)] : [])];
}

/** The upstream's latency (estimated quantiles, docs/usage.md), bytes, concurrency and permit waits. */
export function traffic(total: UsageSummary): HTMLElement {
  const { p50, p90, p99 } = total.latency_ms;
  const row = (term: string, value: string, key: string, help?: string) =>
    h("div", {}, h("dt", {}, term), h("dd", { "data-usage-traffic": key }, value), help ? h("dd", { class: "help" }, help) : null);
  const waits = total.permit_waits === 0 ? "None" : `${count(total.permit_waits)}, ${duration(total.permit_wait_ms)} in all`;
  return h(
    "dl",
    { class: "usage-traffic" },
    row("Upstream latency p50 / p90 / p99", p50 === null ? "No upstream answers" : `${duration(p50)} / ${duration(p90)} / ${duration(p99)}`, "latency", "Estimated, within a factor of 1.4"),
    row("Sent / received", `${bytes(total.request_bytes)} / ${bytes(total.response_bytes)}`, "bytes", "Request and response bodies"),
    row("Highest concurrency", count(total.max_concurrency), "concurrency", "Most in flight at once in one Worker instance"),
    row("Waited for a permit", waits, "waits"),
  );
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  return el;
}

const clock = (iso: string): string => new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });

/** Requests as one area, our refusals (a part of them) as a second area in front of it. */
export function chart(usage: { step: string; total: UsageSummary; points: (UsageSummary & { at: string })[] }, range: UsageRange): HTMLElement {
  const requests = usage.points.map((p) => p.requests);
  const refused = usage.points.map((p) => p.refused);
  const top = niceCeiling(Math.max(...requests));
  const peak = usage.points.reduce((a, b) => (b.requests > a.requests ? b : a));
  const when = range.rangeMs > DEFAULT_USAGE_RANGE.rangeMs ? formatTime(peak.at) : clock(peak.at);
  const label = `Requests and refusals ${range.perStep} over ${range.words}: at most ${count(peak.requests)} requests (at ${when}), ${count(usage.total.refused)} refused in all.`;
  const picture = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    preserveAspectRatio: "none",
    role: "img",
    "aria-label": label,
    class: "usage-chart",
    "data-points": String(nonZero(requests)),
    "data-step": usage.step,
  });
  picture.append(
    svg("path", { class: "grid", d: `M0 0.5 H${WIDTH} M0 ${HEIGHT / 2} H${WIDTH}` }),
    svg("path", { class: "requests", d: stepAreaPath(requests, top, WIDTH, HEIGHT), "data-series": "requests" }),
    svg("path", { class: "refused", d: stepAreaPath(refused, top, WIDTH, HEIGHT), "data-series": "refused" }),
  );
  return h(
    "figure",
    { class: "usage-figure" },
    h("div", { class: "usage-axis-y", "aria-hidden": "true" }, h("span", {}, count(top)), h("span", {}, Number.isInteger(top / 2) ? count(top / 2) : ""), h("span", {}, "0")),
    h("div", { class: "usage-plot" }, picture as unknown as HTMLElement),
    h("div", { class: "usage-axis-x", "aria-hidden": "true" }, h("span", {}, range.ago), h("span", {}, "now")),
    h(
      "figcaption",
      { class: "usage-legend" },
      h("span", { class: "swatch requests", "aria-hidden": "true" }),
      "Requests",
      h("span", { class: "swatch refused", "aria-hidden": "true" }),
      "Refused by the authorizer",
      h("span", { class: "help" }, `(${range.perStep})`),
    ),
  );
}

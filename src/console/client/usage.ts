/**
 * The "Usage" dialog of a token: requests and refusals over the last 24 hours, its last use, and
 * a chart of both per 15 minutes (GET …/usage). The chart is SVG built with createElementNS and
 * setAttribute only (no markup parsing: see dom.ts), its geometry from chart-path.ts.
 */
import type { AccessToken, Deployment } from "../../admin/response-schemas";
import type { TokenUsage } from "../../usage/report";
import { ID } from "../ids";
import { api, enc } from "./api";
import { niceCeiling, nonZero, stepAreaPath } from "./chart-path";
import { byId, clearFieldError, formatTime, h, openDialog, setText } from "./dom";
import { handleError } from "./session";

/** 24 hours per 15 minutes: 96 steps, wide enough to see at phone width. */
const STEP = "15m";
/** The chart's drawing box; the SVG stretches it to the dialog's width (fills only, no strokes to distort). */
const WIDTH = 600;
const HEIGHT = 160;
/** The upstream's own answers; every other answer is one of our refusals (src/usage/vocabulary.ts). */
const UPSTREAM_ANSWERS = new Set(["2xx", "3xx", "4xx", "5xx"]);
const SVG = "http://www.w3.org/2000/svg";

type LastUsed = NonNullable<TokenUsage["last_used"]>;

let shown = 0;

export async function openUsage(deployment: Deployment, t: AccessToken, opener: HTMLElement): Promise<void> {
  const call = ++shown;
  const body = byId(ID.usageBody);
  const error = byId(ID.usageError);
  setText(byId(ID.usageSubtitle), `Token “${t.description}”, the last 24 hours.`);
  clearFieldError(error);
  body.replaceChildren(h("p", { class: "help" }, "Loading…"));
  body.setAttribute("aria-busy", "true");
  opener.focus();
  openDialog(byId<HTMLDialogElement>(ID.usageDialog));
  try {
    // The server's defaults: until = now, since = 24 h before (by its clock: a `since` from this
    // clock could fall just outside the minute buckets and make a 15-minute step invalid).
    const usage = await api<TokenUsage>("GET", `/deployments/${enc(deployment.id)}/access_tokens/${enc(t.id)}/usage?step=${STEP}`);
    if (call !== shown) return; // another token's usage was asked for meanwhile
    body.replaceChildren(...render(usage));
  } catch (err) {
    if (call !== shown) return;
    body.replaceChildren();
    handleError(err, error);
  } finally {
    if (call === shown) body.setAttribute("aria-busy", "false");
  }
}

const count = (n: number): string => n.toLocaleString("en-US");

function render(usage: TokenUsage): HTMLElement[] {
  const { total, last_used: last } = usage;
  if (last === null && total.requests === 0) {
    return [
      h("p", { class: "usage-empty", "data-usage-empty": "" }, "Never used."),
      h("p", { class: "help" }, "Once a client sends a request with this token, its requests, refusals and last use show here, within about a minute."),
    ];
  }
  const refusedShare = total.requests > 0 ? ` (${Math.round((100 * total.refused) / total.requests)} %)` : "";
  const totals = h(
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
  return [
    totals,
    ...(reasons.length > 0 ? [h("p", { class: "help" }, "Refusals by reason:"), h("ul", { class: "usage-reasons" }, ...reasons)] : []),
    total.requests > 0 ? chart(usage) : h("p", { class: "help", "data-usage-quiet": "" }, "No requests in the last 24 hours."),
    h("h3", {}, "Last used"),
    last === null ? h("p", { class: "help" }, "Not recorded.") : lastUsed(last),
    h("p", { class: "help" }, "Counts arrive within about a minute of the requests."),
  ];
}

function lastUsed(last: LastUsed): HTMLElement {
  const where = [last.address, last.country, last.colo && `data center ${last.colo}`].filter(Boolean).join(" · ");
  const row = (term: string, value: string, key: string) => h("div", {}, h("dt", {}, term), h("dd", { "data-last-used": key }, value));
  return h(
    "dl",
    { class: "usage-last" },
    row("When", formatTime(last.at), "at"),
    row("From", where || "Unknown", "from"),
    row("User agent", last.user_agent ?? "None sent", "user-agent"),
    row("Request", `${last.class}, answered ${last.answer}`, "answer"),
  );
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  return el;
}

const clock = (iso: string): string => new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });

/** Requests as one area, our refusals (a part of them) as a second area in front of it. */
function chart(usage: TokenUsage): HTMLElement {
  const requests = usage.points.map((p) => p.requests);
  const refused = usage.points.map((p) => p.refused);
  const top = niceCeiling(Math.max(...requests));
  const peak = usage.points.reduce((a, b) => (b.requests > a.requests ? b : a));
  const label = `Requests and refusals per 15 minutes over the last 24 hours: at most ${count(peak.requests)} requests (at ${clock(peak.at)}), ${count(usage.total.refused)} refused in all.`;
  const picture = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    preserveAspectRatio: "none",
    role: "img",
    "aria-label": label,
    class: "usage-chart",
    "data-points": String(nonZero(requests)),
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
    h("div", { class: "usage-axis-x", "aria-hidden": "true" }, h("span", {}, "24 h ago"), h("span", {}, "now")),
    h(
      "figcaption",
      { class: "usage-legend" },
      h("span", { class: "swatch requests", "aria-hidden": "true" }),
      "Requests",
      h("span", { class: "swatch refused", "aria-hidden": "true" }),
      "Refused by the authorizer",
      h("span", { class: "help" }, "(per 15 minutes)"),
    ),
  );
}

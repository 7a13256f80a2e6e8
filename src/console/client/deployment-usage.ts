/**
 * A deployment's usage on its Overview page (GET /deployments/{id}/usage): its live tokens'
 * requests and refusals over the last 24 hours added up, the chart, the traffic figures, and
 * each token's share, busiest first. The pieces are the token dialog's (usage-parts.ts).
 */
import type { DeploymentUsage } from "../../usage/report";
import { ID } from "../ids";
import { DEFAULT_USAGE_RANGE, type UsageRange, usageQueryString } from "../usage-ranges";
import { api, enc } from "./api";
import { byId, formatTime, h } from "./dom";
import { handleError } from "./session";
import { chart, count, totals, traffic } from "./usage-parts";

export async function showDeploymentUsage(deploymentId: string): Promise<void> {
  const body = byId(ID.deploymentUsage);
  body.setAttribute("aria-busy", "true");
  try {
    const usage = await api<DeploymentUsage>("GET", `/deployments/${enc(deploymentId)}/usage?${usageQueryString(DEFAULT_USAGE_RANGE, Date.now())}`);
    body.replaceChildren(...render(usage));
  } catch (err) {
    body.replaceChildren();
    handleError(err, byId(ID.deploymentUsageError));
  } finally {
    body.setAttribute("aria-busy", "false");
  }
}

function render(usage: DeploymentUsage): HTMLElement[] {
  const range = DEFAULT_USAGE_RANGE;
  if (usage.total.requests === 0) {
    return [h("p", { class: "help", "data-usage-quiet": "" }, `No requests in ${range.words}. Each token's usage is under Access tokens → … → Usage.`)];
  }
  return [...totals(usage.total), chart(usage, range), h("h3", {}, "Traffic"), traffic(usage.total), h("h3", {}, "By token"), byToken(usage, range)];
}

/** Tokens with requests in the range, busiest first (tokens without any are left out). */
function byToken(usage: DeploymentUsage, range: UsageRange): HTMLElement {
  const rows = usage.tokens
    .filter((t) => t.total.requests > 0)
    .sort((a, b) => b.total.requests - a.total.requests)
    .map((t) =>
      h(
        "tr",
        { role: "row", "data-token-id": t.token_id },
        h("th", { scope: "row", role: "rowheader", "data-label": "Token" }, t.description),
        h("td", { role: "cell", "data-label": "Requests", "data-usage": "requests" }, count(t.total.requests)),
        h("td", { role: "cell", "data-label": "Refused", "data-usage": "refused" }, count(t.total.refused)),
        h("td", { role: "cell", "data-label": "Upstream 5xx", "data-usage": "5xx" }, count(t.total.answers["5xx"] ?? 0)),
        h("td", { role: "cell", "data-label": "Last used", "data-usage": "last-used" }, t.last_used ? formatTime(t.last_used.at) : "–"),
      ),
    );
  const head = (label: string) => h("th", { scope: "col", role: "columnheader" }, label);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data-table", role: "table", "data-usage-tokens": "" },
      h("caption", { class: "visually-hidden" }, `Usage by token, ${range.words}`),
      h("thead", { role: "rowgroup" }, h("tr", { role: "row" }, head("Token"), head("Requests"), head("Refused"), head("Upstream 5xx"), head("Last used"))),
      h("tbody", { role: "rowgroup" }, ...rows),
    ),
  );
}

/** Views: the deployments list and one deployment's overview (with the header both share). */
import type { Deployment, Tier } from "../../admin/response-schemas";
import { ID } from "../ids";
import { TYPE_LABELS } from "../labels";
import { api, enc, loadTiers } from "./api";
import { showDeploymentUsage } from "./deployment-usage";
import { byId, copyText, formatTime, h, setText } from "./dom";

const CONSOLE = "/console";

const statusLabel = (d: Deployment) => (d.status === "RUNNING" ? "Running" : String(d.status));

/** The header of a deployment's pages (Overview, Access tokens). */
export function showDeploymentHeader(d: Deployment, section: string): void {
  setText(byId(ID.deploymentName), d.name);
  setText(byId(ID.crumbName), d.name);
  const badge = byId(ID.deploymentStatus);
  setText(badge, statusLabel(d));
  badge.hidden = false;
  document.title = `${d.name} · ${section} · Metrics console`;
}

export async function showDeployments(): Promise<void> {
  const [deployments, tiers] = await Promise.all([api<Deployment[]>("GET", "/deployments"), loadTiers()]);
  byId(ID.deploymentsBody).replaceChildren(
    ...deployments.map((d) =>
      h(
        "tr",
        { role: "row" },
        h("th", { scope: "row", role: "rowheader", "data-label": "Name" }, h("a", { href: `${CONSOLE}/deployments/${enc(d.id)}` }, d.name)),
        h("td", { role: "cell", "data-label": "Type" }, TYPE_LABELS[d.type] ?? d.type),
        h("td", { role: "cell", "data-label": "Tier" }, tiers.get(d.tier)?.name ?? String(d.tier)),
        h("td", { role: "cell", "data-label": "Status" }, h("span", { class: "badge" }, statusLabel(d))),
        h("td", { role: "cell", "data-label": "Created" }, formatTime(d.created_at)),
      ),
    ),
  );
  byId(ID.deployments).hidden = deployments.length === 0;
  byId(ID.deploymentsEmpty).hidden = deployments.length !== 0;
}

function tierText(tier: Tier | undefined, id: number): string {
  if (!tier) return String(id);
  return `${tier.name} — up to ${tier.access_token_limit} access tokens, ${tier.access_token_concurrent_requests} concurrent requests each`;
}

export async function showOverview(id: string): Promise<void> {
  const [d, tiers] = await Promise.all([api<Deployment>("GET", `/deployments/${enc(id)}`), loadTiers()]);
  showDeploymentHeader(d, "Overview");
  void showDeploymentUsage(d.id); // its own section: a failure there is shown there

  const endpoint = byId<HTMLButtonElement>(ID.copyEndpoint);
  setText(byId(ID.endpointUrl), d.access_endpoint);
  endpoint.setAttribute("aria-label", `Access endpoint ${d.access_endpoint}. Copy`);
  endpoint.disabled = false;
  endpoint.addEventListener("click", () => copyText(d.access_endpoint, "Access endpoint"));

  const rows: [string, string][] = [
    ["Type", TYPE_LABELS[d.type] ?? d.type],
    ["Tier", tierText(tiers.get(d.tier), d.tier)],
    ["Deployment ID", d.id],
    ["Created", formatTime(d.created_at)],
  ];
  if (d.type === "single_node") rows.push(["Upstream", d.upstream_url ?? ""]);
  else rows.push(["Insert upstream", d.insert_url ?? ""], ["Select upstream", d.select_url ?? ""]);
  byId(ID.deploymentDetails).replaceChildren(
    ...rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", { class: term.includes("ID") || term.includes("stream") ? "mono" : undefined }, value)]),
  );
}

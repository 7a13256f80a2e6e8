/**
 * The "Usage" dialog of a token: requests and refusals over a range the user picks (24 hours,
 * 7 or 30 days: ../usage-ranges.ts), the upstream's latency, bytes, concurrency and permit waits,
 * its last use, and a chart of requests and refusals per step (GET …/usage). The pieces shared
 * with a deployment's roll-up are usage-parts.ts's.
 */
import type { AccessToken, Deployment } from "../../admin/response-schemas";
import type { TokenUsage } from "../../usage/report";
import { ID } from "../ids";
import { DEFAULT_USAGE_RANGE, type UsageRange, usageQueryString, usageRange } from "../usage-ranges";
import { api, enc } from "./api";
import { chart, totals, traffic } from "./usage-parts";
import { byId, clearFieldError, formatTime, h, openDialog, setText } from "./dom";
import { handleError } from "./session";

type LastUsed = NonNullable<TokenUsage["last_used"]>;

let shown = 0;
/** The token the dialog shows, for a change of range. */
let current: { deployment: Deployment; token: AccessToken } | undefined;

/** The range picker: a change reloads the open dialog's token for the new range. */
export function wireUsage(): void {
  byId(ID.usageRange).addEventListener("change", () => {
    if (current) void load(current.deployment, current.token);
  });
}

function pickedRange(): UsageRange {
  return usageRange(byId(ID.usageRange).querySelector<HTMLInputElement>("input:checked")?.value);
}

export async function openUsage(deployment: Deployment, t: AccessToken, opener: HTMLElement): Promise<void> {
  current = { deployment, token: t };
  const first = byId(ID.usageRange).querySelector<HTMLInputElement>(`input[value="${DEFAULT_USAGE_RANGE.id}"]`);
  if (first) first.checked = true; // each token starts at the last 24 hours
  opener.focus();
  openDialog(byId<HTMLDialogElement>(ID.usageDialog));
  await load(deployment, t);
}

async function load(deployment: Deployment, t: AccessToken): Promise<void> {
  const call = ++shown;
  const range = pickedRange();
  const body = byId(ID.usageBody);
  const error = byId(ID.usageError);
  setText(byId(ID.usageSubtitle), `Token “${t.description}”, ${range.words}.`);
  clearFieldError(error);
  body.replaceChildren(h("p", { class: "help" }, "Loading…"));
  body.setAttribute("aria-busy", "true");
  try {
    const query = usageQueryString(range, Date.now());
    const usage = await api<TokenUsage>("GET", `/deployments/${enc(deployment.id)}/access_tokens/${enc(t.id)}/usage?${query}`);
    if (call !== shown) return; // another token or range was asked for meanwhile
    body.replaceChildren(...render(usage, range));
  } catch (err) {
    if (call !== shown) return;
    body.replaceChildren();
    handleError(err, error);
  } finally {
    if (call === shown) body.setAttribute("aria-busy", "false");
  }
}

function render(usage: TokenUsage, range: UsageRange): HTMLElement[] {
  const { total, last_used: last } = usage;
  if (last === null && total.requests === 0) {
    return [
      h("p", { class: "usage-empty", "data-usage-empty": "" }, "Never used."),
      h("p", { class: "help" }, "Once a client sends a request with this token, its requests, refusals and last use show here, within about a minute."),
    ];
  }
  return [
    ...totals(total),
    total.requests > 0 ? chart(usage, range) : h("p", { class: "help", "data-usage-quiet": "" }, `No requests in ${range.words}.`),
    ...(total.requests > 0 ? [h("h3", {}, "Traffic"), traffic(total)] : []),
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

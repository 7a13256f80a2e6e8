/** The "Test a URL" dialog: asks explain what the data path would do with a request from one token. */
import type { AccessToken, Deployment, Explanation } from "../../admin/response-schemas";
import { ID } from "../ids";
import { api, enc } from "./api";
import { byId, clearFieldError, fieldProblem, h, openDialog, setText } from "./dom";
import { handleError } from "./session";

let pending: { deployment: Deployment; token: AccessToken } | undefined;

export function openExplain(deployment: Deployment, t: AccessToken, opener: HTMLElement): void {
  pending = { deployment, token: t };
  setText(byId(ID.explainSubtitle), `Token “${t.description}”: would a request with this URL be forwarded, and where to?`);
  clearFieldError(byId(ID.explainError));
  const result = byId(ID.explainResult);
  result.hidden = true;
  result.replaceChildren();
  opener.focus();
  openDialog(byId<HTMLDialogElement>(ID.explainDialog));
  byId(ID.explainPath).focus();
}

export function wireExplain(): void {
  const form = byId<HTMLFormElement>(ID.explainForm);
  const method = byId<HTMLSelectElement>(ID.explainMethod);
  const path = byId<HTMLInputElement>(ID.explainPath);
  const address = byId<HTMLInputElement>(ID.explainAddress);
  const submit = byId<HTMLButtonElement>(ID.explainSubmit);
  const error = byId(ID.explainError);
  const result = byId(ID.explainResult);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!pending) return;
    clearFieldError(error);
    if (path.value.trim() === "") return fieldProblem(error, path, "Enter a path, such as /api/v1/query?query=up.");
    submit.disabled = true;
    try {
      const body = { method: method.value, path: path.value.trim(), ...(address.value.trim() ? { client_address: address.value.trim() } : {}) };
      const out = await api<Explanation>("POST", `/deployments/${enc(pending.deployment.id)}/access_tokens/${enc(pending.token.id)}/explain`, body);
      result.replaceChildren(...render(out));
      result.hidden = false;
    } catch (err) {
      handleError(err, error);
    } finally {
      submit.disabled = false;
    }
  });
}

function render(out: Explanation): HTMLElement[] {
  const unchecked = out.not_checked.includes("allowed_networks") ? [h("p", { class: "help" }, "Allowed networks not checked: enter a client address to check them.")] : [];
  if (out.decision === "refused") {
    return [
      h("p", { class: "verdict refused", "data-decision": "refused" }, `Refused: ${out.status} ${out.code}`),
      h("p", {}, out.reason ?? ""),
      ...unchecked,
    ];
  }
  return [
    h("p", { class: "verdict allowed", "data-decision": "allowed" }, `Allowed: a ${out.request_class} request`),
    h("p", {}, "Forwarded to"),
    h("pre", { tabindex: "0", "aria-label": "Upstream URL" }, h("code", { "data-upstream-url": "" }, out.upstream_url ?? "")),
    ...(out.body === "rewritten" ? [h("p", { class: "help" }, "Its form body gets the token's labels too.")] : []),
    ...unchecked,
  ];
}

/** View: a deployment's access tokens, with the Generate and Delete dialogs. */
import type { AccessToken, Deployment } from "../../admin/response-schemas";
import { isValidTenantId } from "../../tokens/tenant-id";
import { ID } from "../ids";
import { ACCESS_CHOICES } from "../labels";
import { api, enc, loadTiers } from "./api";
import { announce, byId, clearAlert, clearFieldError, copyText, fieldProblem, formatTime, h, openDialog, setText } from "./dom";
import { showDeploymentHeader } from "./deployments";
import { openExamples, wireExamples } from "./examples";
import { handleError } from "./session";

/** The deployment shown; set once its tokens are listed. */
let deployment: Deployment | undefined;

/** Lists the deployment's tokens; `highlightId` marks one as just created. */
export async function showAccessTokens(id: string, highlightId?: string): Promise<void> {
  const [d, tokens, tiers] = await Promise.all([
    api<Deployment>("GET", `/deployments/${enc(id)}`),
    api<AccessToken[]>("GET", `/deployments/${enc(id)}/access_tokens`),
    loadTiers(),
  ]);
  deployment = d;
  showDeploymentHeader(d, "Access tokens");
  const tier = tiers.get(d.tier);
  setText(
    byId(ID.tokenCount),
    tier === undefined ? `${tokens.length} access token${tokens.length === 1 ? "" : "s"}.` : `${tokens.length} of ${tier.access_token_limit} access tokens in use (tier ${tier.name}).`,
  );
  byId(ID.tokensBody).replaceChildren(...tokens.map((t, i) => tokenRow(d, t, i, t.id === highlightId)));
  byId(ID.tokens).hidden = tokens.length === 0;
  byId(ID.tokensEmpty).hidden = tokens.length !== 0;
}

function tokenRow(d: Deployment, t: AccessToken, index: number, isNew: boolean): HTMLElement {
  const name = t.description;
  // A list's `value` is the secret's last 4 characters (docs/management.md).
  const key = h(
    "button",
    { type: "button", class: "key-button", "aria-label": `Copy the secret of token ${name}`, title: "Click to copy the secret" },
    h("span", { class: "mono" }, `vmat_••••••••${t.value}`),
    h("span", { class: "copy-label", "aria-hidden": "true" }, "Copy"),
  );
  key.addEventListener("click", () => copySecret(d, t));

  const menuId = `token-actions-${index}`;
  const menuButton = h("button", { type: "button", class: "button quiet icon", popovertarget: menuId, "aria-label": `Actions for token ${name}` }, "…");
  // autofocus: the popover moves focus to its first item when it opens (and back on Escape).
  const examples = h("button", { type: "button", class: "menu-item", autofocus: "" }, "Examples");
  const remove = h("button", { type: "button", class: "menu-item danger" }, "Delete");
  const menu = h("div", { id: menuId, popover: "auto", class: "menu", role: "group", "aria-label": `Actions for token ${name}` }, examples, remove);
  examples.addEventListener("click", () => {
    menu.hidePopover();
    void openExamples(d, t, menuButton);
  });
  remove.addEventListener("click", () => {
    menu.hidePopover();
    openDelete(t, menuButton);
  });

  return h(
    "tr",
    { role: "row", class: isNew ? "new" : undefined, "data-token-id": t.id },
    h("th", { scope: "row", role: "rowheader", "data-label": "Name" }, name),
    h("td", { role: "cell", "data-label": "Key" }, key),
    h("td", { role: "cell", "data-label": "Access" }, ACCESS_CHOICES[t.type]?.label ?? t.type),
    h("td", { role: "cell", "data-label": "Tenant" }, t.tenant_id ?? "—"),
    h("td", { role: "cell", "data-label": "Created" }, formatTime(t.created_at)),
    h("td", { role: "cell", "data-label": "Last used" }, t.last_used_at ? formatTime(t.last_used_at) : "Never"),
    h("td", { role: "cell", class: "row-actions" }, menuButton, menu),
  );
}

/** Reveals a token's secret (an audited API call) and puts it on the clipboard, never on screen. */
async function copySecret(d: Deployment, t: AccessToken): Promise<void> {
  clearAlert();
  try {
    const full = await api<AccessToken>("GET", `/deployments/${enc(d.id)}/access_tokens/${enc(t.id)}`);
    await copyText(full.value, `Secret of token “${t.description}”`);
  } catch (err) {
    handleError(err);
  }
}

function wireGenerate(): void {
  const dialog = byId<HTMLDialogElement>(ID.generateDialog);
  const form = byId<HTMLFormElement>(ID.generateForm);
  const name = byId<HTMLInputElement>(ID.tokenName);
  const tenant = byId<HTMLInputElement>(ID.tokenTenant);
  const advanced = byId<HTMLDetailsElement>(ID.advancedSettings);
  const error = byId(ID.generateError);
  const submit = byId<HTMLButtonElement>(ID.generateSubmit);

  // A message about what was typed goes once the user types again.
  form.addEventListener("input", () => clearFieldError(error));

  byId(ID.generateOpen).addEventListener("click", () => {
    form.reset();
    clearFieldError(error);
    advanced.open = false;
    advanced.hidden = deployment?.type !== "cluster";
    openDialog(dialog);
    name.focus();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!deployment) return;
    clearFieldError(error);
    const description = name.value.trim();
    const access = form.querySelector<HTMLInputElement>("input[name=access]:checked")?.value;
    const tenantId = advanced.hidden ? "" : tenant.value.trim();
    if (!description) return fieldProblem(error, name, "Name: enter a name for the token.");
    if (!access) return fieldProblem(error, form.querySelector<HTMLElement>("input[name=access]")!, "Access level: choose Read, Write or Read/Write.");
    // The server's own tenant rule (src/tokens/tenant-id.ts), checked before the request.
    if (tenantId && !isValidTenantId(tenantId)) {
      advanced.open = true;
      return fieldProblem(error, tenant, "Tenant: use accountID or accountID:projectID, for example 42 or 42:7.");
    }
    submit.disabled = true;
    try {
      const created = await api<AccessToken>("POST", `/deployments/${enc(deployment.id)}/access_tokens`, {
        type: access,
        description,
        ...(tenantId ? { tenant_id: tenantId } : {}),
      });
      dialog.close();
      await showAccessTokens(deployment.id, created.id);
      announce(`Token “${created.description}” generated. Click its key to copy the secret.`);
    } catch (err) {
      handleError(err, error);
    } finally {
      submit.disabled = false;
    }
  });
}

/** The token the Delete dialog asks about. */
let pendingDelete: AccessToken | undefined;

function openDelete(t: AccessToken, opener: HTMLElement): void {
  pendingDelete = t;
  setText(byId(ID.deleteName), `“${t.description}”`);
  clearFieldError(byId(ID.deleteError));
  opener.focus();
  openDialog(byId<HTMLDialogElement>(ID.deleteDialog));
}

function wireDelete(): void {
  const dialog = byId<HTMLDialogElement>(ID.deleteDialog);
  const confirm = byId<HTMLButtonElement>(ID.deleteConfirm);
  const error = byId(ID.deleteError);
  confirm.addEventListener("click", async () => {
    const t = pendingDelete;
    if (!t || !deployment) return;
    confirm.disabled = true;
    try {
      await api("DELETE", `/deployments/${enc(deployment.id)}/access_tokens/${enc(t.id)}`);
      pendingDelete = undefined;
      dialog.close();
      await showAccessTokens(deployment.id);
      announce(`Token “${t.description}” deleted. Clients using it are refused from their next request.`);
      byId(ID.generateOpen).focus();
    } catch (err) {
      handleError(err, error);
    } finally {
      confirm.disabled = false;
    }
  });
}

/** The dialogs of the access tokens page. */
export function wireAccessTokens(): void {
  wireGenerate();
  wireExamples();
  wireDelete();
}

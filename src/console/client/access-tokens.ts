/** View: a deployment's access tokens, with the Generate, Rotate and Delete dialogs. */
import type { AccessToken, Deployment, RotatedAccessToken } from "../../admin/response-schemas";
import { isValidTenantId } from "../../tokens/tenant-id";
import { ID } from "../ids";
import { ACCESS_CHOICES } from "../labels";
import { api, enc, loadTiers } from "./api";
import { announce, byId, clearAlert, clearFieldError, copyText, fieldProblem, formatTime, h, openDialog, setText } from "./dom";
import { showDeploymentHeader } from "./deployments";
import { openExamples, wireExamples } from "./examples";
import { openExplain, wireExplain } from "./explain";
import { openUsage, wireUsage } from "./usage";
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
  const usage = h("button", { type: "button", class: "menu-item" }, "Usage");
  const test = h("button", { type: "button", class: "menu-item" }, "Test a URL");
  const rotate = h("button", { type: "button", class: "menu-item" }, "Rotate");
  const remove = h("button", { type: "button", class: "menu-item danger" }, "Delete");
  const menu = h("div", { id: menuId, popover: "auto", class: "menu", role: "group", "aria-label": `Actions for token ${name}` }, examples, usage, test, rotate, remove);
  usage.addEventListener("click", () => {
    menu.hidePopover();
    void openUsage(d, t, menuButton);
  });
  test.addEventListener("click", () => {
    menu.hidePopover();
    openExplain(d, t, menuButton);
  });
  rotate.addEventListener("click", () => {
    menu.hidePopover();
    openRotate(t, menuButton);
  });
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
    h("td", { role: "cell", "data-label": "Expires", title: t.expires_at ? formatTime(t.expires_at) : undefined }, t.expires_at ? timeLeft(t.expires_at) : "Never"),
    h("td", { role: "cell", "data-label": "Restrictions" }, restrictions(t)),
    h("td", { role: "cell", class: "row-actions" }, menuButton, menu),
  );
}

/** "29 days left", "3 hours left", "Expired": the time until `iso`, in its largest unit. */
export function timeLeft(iso: string, now = Date.now()): string {
  const seconds = (Date.parse(iso) - now) / 1000;
  if (!(seconds > 0)) return "Expired";
  for (const [unit, size] of [["day", 86_400], ["hour", 3600], ["minute", 60]] as const) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `${n} ${unit}${n === 1 ? "" : "s"} left`;
  }
  return "Less than a minute left";
}

/** What a token enforces besides its access and tenant, in one line. */
function restrictions(t: AccessToken): string {
  const parts = [
    ...(t.allowed_networks ?? []),
    ...Object.entries(t.labels ?? {}).map(([k, v]) => `${k}=${v}`),
  ];
  return parts.length ? parts.join(" · ") : "—";
}

/** The non-empty lines of a textarea (commas also separate networks). */
function lines(text: string, commas = false): string[] {
  return text
    .split(commas ? /[\n,]/ : /\n/)
    .map((l) => l.trim())
    .filter(Boolean);
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
  const tenantGroup = byId(ID.tokenTenantGroup);
  const expiry = byId<HTMLSelectElement>(ID.tokenExpiry);
  const networks = byId<HTMLTextAreaElement>(ID.tokenNetworks);
  const labels = byId<HTMLTextAreaElement>(ID.tokenLabels);
  const advanced = byId<HTMLDetailsElement>(ID.advancedSettings);
  const error = byId(ID.generateError);
  const submit = byId<HTMLButtonElement>(ID.generateSubmit);

  // A message about what was typed goes once the user types again.
  form.addEventListener("input", () => clearFieldError(error));

  byId(ID.generateOpen).addEventListener("click", () => {
    form.reset();
    clearFieldError(error);
    advanced.open = false;
    tenantGroup.hidden = deployment?.type !== "cluster";
    openDialog(dialog);
    name.focus();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!deployment) return;
    clearFieldError(error);
    const description = name.value.trim();
    const access = form.querySelector<HTMLInputElement>("input[name=access]:checked")?.value;
    const tenantId = tenantGroup.hidden ? "" : tenant.value.trim();
    const days = Number(expiry.value);
    const allowed = lines(networks.value, true);
    const labelLines = lines(labels.value);
    if (!description) return fieldProblem(error, name, "Name: enter a name for the token.");
    if (!access) return fieldProblem(error, form.querySelector<HTMLElement>("input[name=access]")!, "Access level: choose Read, Write or Read/Write.");
    // The server's own tenant rule (src/tokens/tenant-id.ts), checked before the request.
    if (tenantId && !isValidTenantId(tenantId)) {
      advanced.open = true;
      return fieldProblem(error, tenant, "Tenant: use accountID or accountID:projectID, for example 42 or 42:7.");
    }
    const badLabel = labelLines.find((l) => l.indexOf("=") <= 0);
    if (badLabel !== undefined) {
      advanced.open = true;
      return fieldProblem(error, labels, `Labels: write each as name=value, one per line (not “${badLabel}”).`);
    }
    // The rules themselves (CIDRs, label names) are the server's: its 400 names the entry.
    submit.disabled = true;
    try {
      const created = await api<AccessToken>("POST", `/deployments/${enc(deployment.id)}/access_tokens`, {
        type: access,
        description,
        ...(tenantId ? { tenant_id: tenantId } : {}),
        ...(days > 0 ? { expires_at: new Date(Date.now() + days * 86_400_000).toISOString() } : {}),
        ...(allowed.length ? { allowed_networks: allowed } : {}),
        ...(labelLines.length ? { labels: Object.fromEntries(labelLines.map((l) => [l.slice(0, l.indexOf("=")).trim(), l.slice(l.indexOf("=") + 1).trim()])) } : {}),
      });
      dialog.close();
      await showAccessTokens(deployment.id, created.id);
      announce(`Token “${created.description}” generated. Click its key to copy the secret.`);
    } catch (err) {
      // The server's rules name an Advanced Settings field: show it where the answer points.
      if (/^(expires_at|allowed_networks|labels)/.test((err as Error).message)) advanced.open = true;
      handleError(err, error);
    } finally {
      submit.disabled = false;
    }
  });
}

/** The token the Rotate dialog asks about. */
let pendingRotate: AccessToken | undefined;

function openRotate(t: AccessToken, opener: HTMLElement): void {
  pendingRotate = t;
  setText(byId(ID.rotateName), `“${t.description}”`);
  clearFieldError(byId(ID.rotateError));
  opener.focus();
  openDialog(byId<HTMLDialogElement>(ID.rotateDialog));
}

function wireRotate(): void {
  const dialog = byId<HTMLDialogElement>(ID.rotateDialog);
  const form = byId<HTMLFormElement>(ID.rotateForm);
  const overlap = byId<HTMLSelectElement>(ID.rotateOverlap);
  const confirm = byId<HTMLButtonElement>(ID.rotateConfirm);
  const error = byId(ID.rotateError);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const t = pendingRotate;
    if (!t || !deployment) return;
    confirm.disabled = true;
    try {
      const rotated = await api<RotatedAccessToken>("POST", `/deployments/${enc(deployment.id)}/access_tokens/${enc(t.id)}/rotate`, {
        overlap_seconds: Number(overlap.value),
      });
      pendingRotate = undefined;
      dialog.close();
      await showAccessTokens(deployment.id, rotated.id);
      const until = Date.parse(rotated.replaces.expires_at) <= Date.now() ? "is refused from now on" : `works until ${formatTime(rotated.replaces.expires_at)}`;
      announce(`Token “${t.description}” rotated: the old one ${until}. Click the new key to copy its secret.`);
      byId(ID.generateOpen).focus();
    } catch (err) {
      handleError(err, error);
    } finally {
      confirm.disabled = false;
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
  wireRotate();
  wireExplain();
  wireDelete();
  wireUsage();
}

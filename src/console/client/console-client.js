// @ts-check
/**
 * The console in the browser: signs in with a management API key, then renders each view from
 * the management API's JSON. Type-checked against the DOM by test/browser/tsconfig.json.
 *
 * Rules this file keeps:
 * - It is served as the text of this one function (see ../assets.ts), so nothing in it may refer
 *   to anything outside the function: no imports, no module-level names.
 * - Pages are built with createElement and textContent only. The page's policy
 *   (require-trusted-types-for 'script') makes any HTML-parsing sink throw, so an API value can
 *   never become markup.
 * - The API key lives in sessionStorage (this tab, until it closes) and travels only in the
 *   X-VM-Cloud-Access header of same-origin requests; secrets are fetched, never navigated to,
 *   and never logged.
 */
export function consoleClient() {
  "use strict";

  const API = "/admin/api/v1";
  const CONSOLE = "/console";
  const KEY_HEADER = "X-VM-Cloud-Access";
  const STORAGE_KEY = "vm-console.api-key";
  // Access token secrets have a fixed shape (src/token/format.ts); the Examples dialog masks
  // them on screen, while its Copy buttons copy the real text.
  const SECRET_PATTERN = /vmat_[0-9A-Za-z]{20,}/g;
  const SECRET_MASK = "vmat_••••••••••••";
  const STATUS_MS = 6000;

  /**
   * @typedef {{ id: string, name: string, type: "single_node" | "cluster", tier: number, created_at: string,
   *   status: string, access_endpoint: string, upstream_url?: string, insert_url?: string, select_url?: string }} Deployment
   * @typedef {{ id: string, value: string, type: "r" | "w" | "rw", description: string, created_by: string,
   *   created_at: string, tenant_id?: string, last_used_at?: string }} AccessToken
   * @typedef {{ id: number, name: string, type: string, access_token_limit: number, access_token_concurrent_requests: number }} Tier
   * @typedef {{ id: string, tab: "write" | "read", title: string, language: string, filename?: string, content: string }} Snippet
   * @typedef {{ token_id: string, notes: string[], examples: Snippet[], write_url?: string, read_url?: string }} Examples
   */

  /** An answer of the management API other than 2xx, or no answer at all (status 0). */
  class ApiError extends Error {
    /** @param {number} status @param {string} code @param {string} message */
    constructor(status, code, message) {
      super(message);
      this.name = "ApiError";
      this.status = status;
      this.code = code;
    }
  }

  const ACCESS_LABELS = { r: "Read", w: "Write", rw: "Read/Write" };
  const TYPE_LABELS = { single_node: "Single node", cluster: "Cluster" };

  // ------------------------------------------------------------------------------------------
  // DOM helpers

  /**
   * @template {HTMLElement} [T=HTMLElement]
   * @param {string} id
   * @returns {T}
   */
  function byId(id) {
    const el = document.getElementById(id);
    if (!el) throw new Error(`console page lacks #${id}`);
    return /** @type {T} */ (el);
  }

  /**
   * A new element. `props` sets attributes (`class`, `aria-*`, `data-*`, …); children are nodes
   * or strings, and strings become text nodes.
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {Record<string, string | undefined>} [props]
   * @param {...(Node | string | null | undefined)} children
   * @returns {HTMLElementTagNameMap[K]}
   */
  function h(tag, props = {}, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(props)) {
      if (value !== undefined) el.setAttribute(name, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) el.append(child);
    }
    return el;
  }

  /** @param {HTMLElement} el @param {string} text */
  function setText(el, text) {
    el.textContent = text;
  }

  /** @param {string} iso */
  function formatTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  // ------------------------------------------------------------------------------------------
  // The API key and the management API

  const keyStore = {
    /** @returns {string | null} */
    get() {
      try {
        return sessionStorage.getItem(STORAGE_KEY);
      } catch {
        return null;
      }
    },
    /** @param {string} key */
    set(key) {
      sessionStorage.setItem(STORAGE_KEY, key);
    },
    clear() {
      try {
        sessionStorage.removeItem(STORAGE_KEY);
      } catch {
        // Storage disabled: nothing was stored.
      }
    },
  };

  /**
   * One call to the management API with the stored key. Resolves to the parsed JSON (undefined
   * for 204); rejects with an ApiError carrying the API's own one-line message.
   * @param {"GET" | "POST" | "DELETE"} method
   * @param {string} path under /admin/api/v1
   * @param {unknown} [body]
   * @returns {Promise<any>}
   */
  async function api(method, path, body) {
    const key = keyStore.get();
    if (!key) throw new ApiError(401, "unauthorized", "Sign in with a management API key.");
    /** @type {Record<string, string>} */
    const headers = { [KEY_HEADER]: key, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    let res;
    try {
      res = await fetch(API + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
      });
    } catch {
      throw new ApiError(0, "network", "Could not reach the management API: check the connection and try again.");
    }
    if (res.status === 204) return undefined;
    /** @type {any} */
    let data;
    try {
      data = await res.json();
    } catch {
      data = undefined;
    }
    if (!res.ok) {
      const message = data && typeof data.message === "string" ? data.message : `The management API answered ${res.status}; try again later.`;
      throw new ApiError(res.status, data && typeof data.error === "string" ? data.error : "error", message);
    }
    return data;
  }

  /** @param {string} part */
  const enc = (part) => encodeURIComponent(part);

  /** @returns {Promise<Map<number, Tier>>} Tiers by id; empty if they cannot be read (names are a nicety). */
  async function loadTiers() {
    try {
      /** @type {Tier[]} */
      const tiers = await api("GET", "/tiers");
      return new Map(tiers.map((t) => [t.id, t]));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) throw err;
      return new Map();
    }
  }

  // ------------------------------------------------------------------------------------------
  // Messages

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let statusTimer;

  /**
   * A short confirmation ("… copied"), read out politely and cleared after a few seconds. While a
   * modal dialog is open the page behind it is inert, so the dialog's own status line is used.
   * @param {string} text
   */
  function announce(text) {
    for (const shown of document.querySelectorAll(".status.visible")) {
      shown.classList.remove("visible");
      shown.textContent = "";
    }
    const status = /** @type {HTMLElement} */ (document.querySelector("dialog[open] .status") ?? byId("status"));
    setText(status, text);
    status.classList.add("visible");
    clearTimeout(statusTimer);
    statusTimer = setTimeout(() => {
      status.classList.remove("visible");
      setText(status, "");
    }, STATUS_MS);
  }

  /** An error for the page as a whole. @param {string} text */
  function showAlert(text) {
    setText(byId("alert-text"), text);
    byId("alert").hidden = false;
  }

  function clearAlert() {
    byId("alert").hidden = true;
    setText(byId("alert-text"), "");
  }

  /** @param {HTMLElement} el @param {string} text */
  function showFieldError(el, text) {
    setText(el, text);
    el.hidden = false;
  }

  /** @param {HTMLElement} el */
  function clearFieldError(el) {
    el.hidden = true;
    setText(el, "");
  }

  /**
   * Shows an error where it belongs. A refused key (401: unknown, revoked, expired) ends the
   * session: the key is forgotten and the sign-in form says why. Anything else goes to `target`
   * (a dialog's error line) or the page's alert.
   * @param {unknown} err
   * @param {HTMLElement} [target]
   */
  function handleError(err, target) {
    if (err instanceof ApiError && err.status === 401) {
      signOut(err.message);
      return;
    }
    const text = err instanceof ApiError ? err.message : "Something went wrong in the console; reload the page and try again.";
    if (target) showFieldError(target, text);
    else showAlert(text);
  }

  // ------------------------------------------------------------------------------------------
  // Sign in and out

  /** @param {string} [reason] why the session ended, shown above the form */
  function signOut(reason) {
    keyStore.clear();
    for (const dialog of document.querySelectorAll("dialog[open]")) /** @type {HTMLDialogElement} */ (dialog).close();
    clearAlert();
    byId("view").hidden = true;
    byId("sign-out").hidden = true;
    byId("login").hidden = false;
    const error = byId("login-error");
    if (reason) showFieldError(error, reason);
    else clearFieldError(error);
    byId("api-key").focus();
  }

  function wireLogin() {
    const form = byId("login-form");
    const input = /** @type {HTMLInputElement} */ (byId("api-key"));
    const error = byId("login-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) {
        showFieldError(error, "Enter an API key.");
        input.focus();
        return;
      }
      clearFieldError(error);
      keyStore.set(key);
      input.value = "";
      try {
        await api("GET", "/deployments?limit=1");
      } catch (err) {
        keyStore.clear();
        showFieldError(error, err instanceof ApiError ? err.message : "Could not check the key; try again.");
        input.focus();
        return;
      }
      byId("login").hidden = true;
      clearFieldError(error);
      await enterView();
    });
    byId("sign-out").addEventListener("click", () => signOut());
    byId("alert-sign-in").addEventListener("click", () => signOut());
  }

  // ------------------------------------------------------------------------------------------
  // Clipboard

  /**
   * @param {string} text
   * @param {string} what e.g. "Access endpoint", for the confirmation
   */
  async function copyText(text, what) {
    try {
      await navigator.clipboard.writeText(text);
      announce(`${what} copied to the clipboard.`);
      return true;
    } catch {
      showAlert(`Could not copy the ${what.toLowerCase()}: the browser refused access to the clipboard.`);
      return false;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Dialogs

  /** Element that had focus when each dialog opened, to give focus back on close. */
  const openers = new WeakMap();

  /** @param {HTMLDialogElement} dialog */
  function openDialog(dialog) {
    openers.set(dialog, document.activeElement);
    dialog.showModal();
  }

  function wireDialogs() {
    for (const dialog of document.querySelectorAll("dialog")) {
      dialog.addEventListener("close", () => {
        const opener = openers.get(dialog);
        openers.delete(dialog);
        if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      });
    }
    for (const button of document.querySelectorAll("[data-close-dialog]")) {
      button.addEventListener("click", () => button.closest("dialog")?.close());
    }
  }

  // ------------------------------------------------------------------------------------------
  // Deployment pages: header shared by Overview and Access tokens

  /** @param {Deployment} d @param {string} section */
  function showDeploymentHeader(d, section) {
    setText(byId("deployment-name"), d.name);
    setText(byId("crumb-name"), d.name);
    const badge = byId("deployment-status");
    setText(badge, d.status === "RUNNING" ? "Running" : d.status);
    badge.hidden = false;
    document.title = `${d.name} · ${section} · Metrics console`;
  }

  // ------------------------------------------------------------------------------------------
  // View: deployments

  async function showDeployments() {
    /** @type {[Deployment[], Map<number, Tier>]} */
    const [deployments, tiers] = await Promise.all([api("GET", "/deployments"), loadTiers()]);
    const body = byId("deployments-body");
    body.replaceChildren(
      ...deployments.map((d) =>
        h(
          "tr",
          { role: "row" },
          h("th", { scope: "row", role: "rowheader", "data-label": "Name" }, h("a", { href: `${CONSOLE}/deployments/${enc(d.id)}` }, d.name)),
          h("td", { role: "cell", "data-label": "Type" }, TYPE_LABELS[d.type] ?? d.type),
          h("td", { role: "cell", "data-label": "Tier" }, tiers.get(d.tier)?.name ?? String(d.tier)),
          h("td", { role: "cell", "data-label": "Status" }, h("span", { class: "badge" }, d.status === "RUNNING" ? "Running" : d.status)),
          h("td", { role: "cell", "data-label": "Created" }, formatTime(d.created_at)),
        ),
      ),
    );
    byId("deployments").hidden = deployments.length === 0;
    byId("deployments-empty").hidden = deployments.length !== 0;
  }

  // ------------------------------------------------------------------------------------------
  // View: overview

  /** @param {string} id */
  async function showOverview(id) {
    /** @type {[Deployment, Map<number, Tier>]} */
    const [d, tiers] = await Promise.all([api("GET", `/deployments/${enc(id)}`), loadTiers()]);
    showDeploymentHeader(d, "Overview");

    const endpoint = /** @type {HTMLButtonElement} */ (byId("copy-endpoint"));
    setText(byId("endpoint-url"), d.access_endpoint);
    endpoint.setAttribute("aria-label", `Access endpoint ${d.access_endpoint}. Copy`);
    endpoint.disabled = false;
    endpoint.addEventListener("click", () => copyText(d.access_endpoint, "Access endpoint"));

    const tier = tiers.get(d.tier);
    /** @type {[string, string][]} */
    const rows = [
      ["Type", TYPE_LABELS[d.type] ?? d.type],
      ["Tier", tier ? `${tier.name} — up to ${tier.access_token_limit} access tokens, ${tier.access_token_concurrent_requests} concurrent requests each` : String(d.tier)],
      ["Deployment ID", d.id],
      ["Created", formatTime(d.created_at)],
    ];
    if (d.type === "single_node") rows.push(["Upstream", d.upstream_url ?? ""]);
    else rows.push(["Insert upstream", d.insert_url ?? ""], ["Select upstream", d.select_url ?? ""]);
    byId("deployment-details").replaceChildren(...rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", { class: term.includes("ID") || term.includes("stream") ? "mono" : undefined }, value)]));
  }

  // ------------------------------------------------------------------------------------------
  // View: access tokens

  /** @type {Deployment | undefined} */
  let deployment;

  /** @param {string} id @param {string} [highlightId] a token to mark as just created */
  async function showAccessTokens(id, highlightId) {
    /** @type {[Deployment, AccessToken[], Map<number, Tier>]} */
    const [d, tokens, tiers] = await Promise.all([
      api("GET", `/deployments/${enc(id)}`),
      api("GET", `/deployments/${enc(id)}/access_tokens`),
      loadTiers(),
    ]);
    deployment = d;
    showDeploymentHeader(d, "Access tokens");
    const limit = tiers.get(d.tier)?.access_token_limit;
    setText(
      byId("token-count"),
      limit === undefined ? `${tokens.length} access token${tokens.length === 1 ? "" : "s"}.` : `${tokens.length} of ${limit} access tokens in use (tier ${tiers.get(d.tier)?.name}).`,
    );
    byId("tokens-body").replaceChildren(...tokens.map((t, i) => tokenRow(t, i, t.id === highlightId)));
    byId("tokens").hidden = tokens.length === 0;
    byId("tokens-empty").hidden = tokens.length !== 0;
  }

  /**
   * @param {AccessToken} t
   * @param {number} index
   * @param {boolean} isNew
   */
  function tokenRow(t, index, isNew) {
    const name = t.description;
    const key = h("button", { type: "button", class: "key-button", "aria-label": `Copy the secret of token ${name}`, title: "Click to copy the secret" }, h("span", { class: "mono" }, `vmat_••••••••${t.value}`), h("span", { class: "copy-label", "aria-hidden": "true" }, "Copy"));
    key.addEventListener("click", () => copySecret(t));

    const menuId = `token-actions-${index}`;
    const menuButton = h("button", { type: "button", class: "button quiet icon", popovertarget: menuId, "aria-label": `Actions for token ${name}` }, "…");
    // autofocus: the popover moves focus to its first item when it opens (and back on Escape).
    const examples = h("button", { type: "button", class: "menu-item", autofocus: "" }, "Examples");
    const remove = h("button", { type: "button", class: "menu-item danger" }, "Delete");
    const menu = h("div", { id: menuId, popover: "auto", class: "menu", role: "group", "aria-label": `Actions for token ${name}` }, examples, remove);
    examples.addEventListener("click", () => {
      menu.hidePopover();
      openExamples(t, menuButton);
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
      h("td", { role: "cell", "data-label": "Access" }, ACCESS_LABELS[t.type] ?? t.type),
      h("td", { role: "cell", "data-label": "Tenant" }, t.tenant_id ?? "—"),
      h("td", { role: "cell", "data-label": "Created" }, formatTime(t.created_at)),
      h("td", { role: "cell", "data-label": "Last used" }, t.last_used_at ? formatTime(t.last_used_at) : "Never"),
      h("td", { role: "cell", class: "row-actions" }, menuButton, menu),
    );
  }

  /** Reveals a token's secret (an audited API call) and puts it on the clipboard, never on screen. @param {AccessToken} t */
  async function copySecret(t) {
    if (!deployment) return;
    clearAlert();
    try {
      /** @type {AccessToken} */
      const full = await api("GET", `/deployments/${enc(deployment.id)}/access_tokens/${enc(t.id)}`);
      await copyText(full.value, `Secret of token “${t.description}”`);
    } catch (err) {
      handleError(err);
    }
  }

  // Generate Token --------------------------------------------------------------------------

  function wireGenerate() {
    const dialog = /** @type {HTMLDialogElement} */ (byId("generate-dialog"));
    const form = /** @type {HTMLFormElement} */ (byId("generate-form"));
    const name = /** @type {HTMLInputElement} */ (byId("token-name"));
    const tenant = /** @type {HTMLInputElement} */ (byId("token-tenant"));
    const advanced = /** @type {HTMLDetailsElement} */ (byId("advanced-settings"));
    const error = byId("generate-error");
    const submit = /** @type {HTMLButtonElement} */ (byId("generate-submit"));

    // A message about what was typed goes once the user types again.
    form.addEventListener("input", () => clearFieldError(error));

    byId("generate-open").addEventListener("click", () => {
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
      const access = /** @type {HTMLInputElement | null} */ (form.querySelector("input[name=access]:checked"))?.value;
      const tenantId = advanced.hidden ? "" : tenant.value.trim();
      if (!description) return fieldProblem(error, name, "Name: enter a name for the token.");
      if (!access) return fieldProblem(error, /** @type {HTMLElement} */ (form.querySelector("input[name=access]")), "Access level: choose Read, Write or Read/Write.");
      if (tenantId && !/^\d+(:\d+)?$/.test(tenantId)) {
        advanced.open = true;
        return fieldProblem(error, tenant, "Tenant: use accountID or accountID:projectID, for example 42 or 42:7.");
      }
      submit.disabled = true;
      try {
        /** @type {AccessToken} */
        const created = await api("POST", `/deployments/${enc(deployment.id)}/access_tokens`, {
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

  /** @param {HTMLElement} error @param {HTMLElement} field @param {string} text */
  function fieldProblem(error, field, text) {
    showFieldError(error, text);
    field.focus();
  }

  // Examples --------------------------------------------------------------------------------

  /** @type {{ tab: "write" | "read", pre: HTMLElement, content: string }[]} */
  let shownSnippets = [];

  /** @param {AccessToken} t @param {HTMLElement} opener */
  async function openExamples(t, opener) {
    if (!deployment) return;
    const dialog = /** @type {HTMLDialogElement} */ (byId("examples-dialog"));
    const error = byId("examples-error");
    const showSecret = /** @type {HTMLInputElement} */ (byId("examples-show-secret"));
    clearFieldError(error);
    clearSnippets();
    showSecret.checked = false;
    setText(byId("examples-subtitle"), `Token “${t.description}” · ${ACCESS_LABELS[t.type] ?? t.type}${t.tenant_id ? ` · tenant ${t.tenant_id}` : ""}. The snippets carry the token's secret: Copy puts it in, the screen shows it masked.`);
    opener.focus();
    openDialog(dialog);
    try {
      /** @type {Examples} */
      const examples = await api("GET", `/deployments/${enc(deployment.id)}/access_tokens/${enc(t.id)}/examples`);
      renderExamples(examples);
    } catch (err) {
      handleError(err, error);
    }
  }

  /** @param {Examples} examples */
  function renderExamples(examples) {
    /** @type {("write" | "read")[]} */
    const tabs = ["write", "read"];
    for (const tab of tabs) {
      const snippets = examples.examples.filter((s) => s.tab === tab);
      const panel = byId(`examples-panel-${tab}`);
      byId(`examples-tab-${tab}`).hidden = snippets.length === 0;
      panel.replaceChildren(...snippets.map((s) => snippetCard(s)));
    }
    byId("examples-notes").replaceChildren(...examples.notes.map((note) => h("li", {}, note)));
    const first = tabs.find((tab) => examples.examples.some((s) => s.tab === tab));
    if (first) selectTab(first, false);
  }

  /** @param {Snippet} s */
  function snippetCard(s) {
    const code = h("code", {}, maskSecrets(s.content));
    const pre = h("pre", { tabindex: "0", "aria-label": `${s.title} snippet`, "data-snippet": s.id }, code);
    const copy = h("button", { type: "button", class: "button small", "aria-label": `Copy the ${s.title} snippet` }, "Copy");
    copy.addEventListener("click", () => copyText(s.content, `${s.title} snippet`));
    shownSnippets.push({ tab: s.tab, pre: code, content: s.content });
    return h(
      "section",
      { class: "snippet", "aria-label": s.title },
      h("div", { class: "snippet-head" }, h("h3", {}, s.title), s.filename ? h("span", { class: "filename mono" }, s.filename) : null, copy),
      pre,
    );
  }

  /** @param {string} text */
  function maskSecrets(text) {
    return text.replace(SECRET_PATTERN, SECRET_MASK);
  }

  function clearSnippets() {
    shownSnippets = [];
    for (const tab of ["write", "read"]) {
      byId(`examples-panel-${tab}`).replaceChildren();
      byId(`examples-panel-${tab}`).hidden = true;
      const button = byId(`examples-tab-${tab}`);
      button.hidden = true;
      button.setAttribute("aria-selected", "false");
      button.tabIndex = -1;
    }
    byId("examples-notes").replaceChildren();
  }

  /** @param {"write" | "read"} tab @param {boolean} focus */
  function selectTab(tab, focus) {
    for (const other of /** @type {const} */ (["write", "read"])) {
      const button = byId(`examples-tab-${other}`);
      const selected = other === tab;
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
      byId(`examples-panel-${other}`).hidden = !selected;
      if (selected && focus) button.focus();
    }
  }

  function wireExamples() {
    const dialog = byId("examples-dialog");
    for (const tab of /** @type {const} */ (["write", "read"])) {
      const button = byId(`examples-tab-${tab}`);
      button.addEventListener("click", () => selectTab(tab, true));
      button.addEventListener("keydown", (event) => {
        if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
        const other = tab === "write" ? "read" : "write";
        if (!byId(`examples-tab-${other}`).hidden) selectTab(other, true);
        event.preventDefault();
      });
    }
    const showSecret = /** @type {HTMLInputElement} */ (byId("examples-show-secret"));
    showSecret.addEventListener("change", () => {
      for (const s of shownSnippets) setText(s.pre, showSecret.checked ? s.content : maskSecrets(s.content));
    });
    // The secret leaves the page with the dialog.
    dialog.addEventListener("close", clearSnippets);
  }

  // Delete ----------------------------------------------------------------------------------

  /** @type {AccessToken | undefined} */
  let pendingDelete;

  /** @param {AccessToken} t @param {HTMLElement} opener */
  function openDelete(t, opener) {
    pendingDelete = t;
    setText(byId("delete-name"), `“${t.description}”`);
    clearFieldError(byId("delete-error"));
    opener.focus();
    openDialog(/** @type {HTMLDialogElement} */ (byId("delete-dialog")));
  }

  function wireDelete() {
    const dialog = /** @type {HTMLDialogElement} */ (byId("delete-dialog"));
    const confirm = /** @type {HTMLButtonElement} */ (byId("delete-confirm"));
    const error = byId("delete-error");
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
        byId("generate-open").focus();
      } catch (err) {
        handleError(err, error);
      } finally {
        confirm.disabled = false;
      }
    });
  }

  // ------------------------------------------------------------------------------------------
  // Start

  const view = document.body.dataset.view;
  const deploymentId = document.body.dataset.deploymentId ?? "";

  async function enterView() {
    byId("login").hidden = true;
    byId("sign-out").hidden = false;
    byId("view").hidden = false;
    clearAlert();
    try {
      if (view === "deployments") await showDeployments();
      else if (view === "overview") await showOverview(deploymentId);
      else if (view === "access-tokens") await showAccessTokens(deploymentId);
    } catch (err) {
      handleError(err);
    }
  }

  function start() {
    wireDialogs();
    wireLogin();
    if (view === "access-tokens") {
      wireGenerate();
      wireExamples();
      wireDelete();
    }
    if (view === "not-found") {
      byId("view").hidden = false;
      return;
    }
    if (keyStore.get()) void enterView();
    else signOut();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}

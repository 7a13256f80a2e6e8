/**
 * The Examples dialog: ready-to-paste client configuration for one token. The snippets carry the
 * token's secret: the screen shows it masked (unless "Show secret"), Copy takes the real text.
 */
import type { AccessToken, Deployment, ExampleSnippet, TokenExamples } from "../../admin/response-schemas";
import type { ExampleTab } from "../../tokens/vocabulary";
import { EXAMPLE_TABS } from "../../tokens/words";
import { ID, examplesPanelId, examplesTabId } from "../ids";
import { ACCESS_CHOICES } from "../labels";
import { api, enc } from "./api";
import { byId, clearFieldError, copyText, h, openDialog, setText } from "./dom";
import { handleError } from "./session";

// Access token secrets have a fixed shape (src/token/format.ts): masked on screen here.
const SECRET_PATTERN = /vmat_[0-9A-Za-z]{20,}/g;
const SECRET_MASK = "vmat_••••••••••••";

let shownSnippets: { tab: ExampleTab; pre: HTMLElement; content: string }[] = [];

function maskSecrets(text: string): string {
  return text.replace(SECRET_PATTERN, SECRET_MASK);
}

export async function openExamples(deployment: Deployment, t: AccessToken, opener: HTMLElement): Promise<void> {
  const dialog = byId<HTMLDialogElement>(ID.examplesDialog);
  const error = byId(ID.examplesError);
  const showSecret = byId<HTMLInputElement>(ID.examplesShowSecret);
  clearFieldError(error);
  clearSnippets();
  showSecret.checked = false;
  setText(
    byId(ID.examplesSubtitle),
    `Token “${t.description}” · ${ACCESS_CHOICES[t.type]?.label ?? t.type}${t.tenant_id ? ` · tenant ${t.tenant_id}` : ""}. The snippets carry the token's secret: Copy puts it in, the screen shows it masked.`,
  );
  opener.focus();
  openDialog(dialog);
  try {
    renderExamples(await api<TokenExamples>("GET", `/deployments/${enc(deployment.id)}/access_tokens/${enc(t.id)}/examples`));
  } catch (err) {
    handleError(err, error);
  }
}

function renderExamples(examples: TokenExamples): void {
  for (const tab of EXAMPLE_TABS) {
    const snippets = examples.examples.filter((s) => s.tab === tab);
    byId(examplesTabId(tab)).hidden = snippets.length === 0;
    byId(examplesPanelId(tab)).replaceChildren(...snippets.map(snippetCard));
  }
  byId(ID.examplesNotes).replaceChildren(...examples.notes.map((note) => h("li", {}, note)));
  const first = EXAMPLE_TABS.find((tab) => examples.examples.some((s) => s.tab === tab));
  if (first) selectTab(first, false);
}

function snippetCard(s: ExampleSnippet): HTMLElement {
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

function clearSnippets(): void {
  shownSnippets = [];
  for (const tab of EXAMPLE_TABS) {
    const panel = byId(examplesPanelId(tab));
    panel.replaceChildren();
    panel.hidden = true;
    const button = byId(examplesTabId(tab));
    button.hidden = true;
    button.setAttribute("aria-selected", "false");
    button.tabIndex = -1;
  }
  byId(ID.examplesNotes).replaceChildren();
}

function selectTab(tab: ExampleTab, focus: boolean): void {
  for (const other of EXAMPLE_TABS) {
    const button = byId(examplesTabId(other));
    const selected = other === tab;
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    byId(examplesPanelId(other)).hidden = !selected;
    if (selected && focus) button.focus();
  }
}

export function wireExamples(): void {
  const dialog = byId(ID.examplesDialog);
  for (const tab of EXAMPLE_TABS) {
    const button = byId(examplesTabId(tab));
    button.addEventListener("click", () => selectTab(tab, true));
    button.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      const other = tab === "write" ? "read" : "write";
      if (!byId(examplesTabId(other)).hidden) selectTab(other, true);
      event.preventDefault();
    });
  }
  const showSecret = byId<HTMLInputElement>(ID.examplesShowSecret);
  showSecret.addEventListener("change", () => {
    for (const s of shownSnippets) setText(s.pre, showSecret.checked ? s.content : maskSecrets(s.content));
  });
  // The secret leaves the page with the dialog.
  dialog.addEventListener("close", clearSnippets);
}

/**
 * DOM helpers of the console script. Pages are built with createElement and textContent only:
 * the page's policy (require-trusted-types-for 'script') makes any HTML-parsing sink throw, so an
 * API value can never become markup.
 */
import { ID } from "../ids";

const STATUS_MS = 6000;

/** The page element with this id (ids: ../ids.ts); a page without it is a bug, so it throws. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`console page lacks #${id}`);
  return el as T;
}

/**
 * A new element. `props` sets attributes (`class`, `aria-*`, `data-*`, …); children are nodes
 * or strings, and strings become text nodes.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, string | undefined> = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value !== undefined) el.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) el.append(child);
  }
  return el;
}

export function setText(el: HTMLElement, text: string): void {
  el.textContent = text;
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

let statusTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * A short confirmation ("… copied"), read out politely and cleared after a few seconds. While a
 * modal dialog is open the page behind it is inert, so the dialog's own status line is used.
 */
export function announce(text: string): void {
  for (const shown of document.querySelectorAll(".status.visible")) {
    shown.classList.remove("visible");
    shown.textContent = "";
  }
  const status = document.querySelector<HTMLElement>("dialog[open] .status") ?? byId(ID.status);
  setText(status, text);
  status.classList.add("visible");
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => {
    status.classList.remove("visible");
    setText(status, "");
  }, STATUS_MS);
}

/** An error for the page as a whole. */
export function showAlert(text: string): void {
  setText(byId(ID.alertText), text);
  byId(ID.alert).hidden = false;
}

export function clearAlert(): void {
  byId(ID.alert).hidden = true;
  setText(byId(ID.alertText), "");
}

export function showFieldError(el: HTMLElement, text: string): void {
  setText(el, text);
  el.hidden = false;
}

export function clearFieldError(el: HTMLElement): void {
  el.hidden = true;
  setText(el, "");
}

/** Shows a problem with one field and moves focus there. */
export function fieldProblem(error: HTMLElement, field: HTMLElement, text: string): void {
  showFieldError(error, text);
  field.focus();
}

/** Puts text on the clipboard; `what` (e.g. "Access endpoint") names it in the confirmation. */
export async function copyText(text: string, what: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    announce(`${what} copied to the clipboard.`);
    return true;
  } catch {
    showAlert(`Could not copy the ${what.toLowerCase()}: the browser refused access to the clipboard.`);
    return false;
  }
}

/** Element that had focus when each dialog opened, to give focus back on close. */
const openers = new WeakMap<HTMLDialogElement, Element | null>();

export function openDialog(dialog: HTMLDialogElement): void {
  openers.set(dialog, document.activeElement);
  dialog.showModal();
}

export function wireDialogs(): void {
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

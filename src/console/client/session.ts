/** Sign in and out, and where an error is shown (a refused key ends the session). */
import { ID } from "../ids";
import { ApiError, api, keyStore } from "./api";
import { byId, clearAlert, clearFieldError, showAlert, showFieldError } from "./dom";

/** Ends the session: the key is forgotten and the sign-in form says why (`reason`). */
export function signOut(reason?: string): void {
  keyStore.clear();
  for (const dialog of document.querySelectorAll("dialog[open]")) (dialog as HTMLDialogElement).close();
  clearAlert();
  byId(ID.view).hidden = true;
  byId(ID.signOut).hidden = true;
  byId(ID.login).hidden = false;
  const error = byId(ID.loginError);
  if (reason) showFieldError(error, reason);
  else clearFieldError(error);
  byId(ID.apiKey).focus();
}

/**
 * Shows an error where it belongs. A refused key (401: unknown, revoked, expired) ends the
 * session. Anything else goes to `target` (a dialog's error line) or the page's alert.
 */
export function handleError(err: unknown, target?: HTMLElement): void {
  if (err instanceof ApiError && err.status === 401) {
    signOut(err.message);
    return;
  }
  const text = err instanceof ApiError ? err.message : "Something went wrong in the console; reload the page and try again.";
  if (target) showFieldError(target, text);
  else showAlert(text);
}

/** The sign-in form: a key is kept only once the API accepted it; then `enterView` runs. */
export function wireLogin(enterView: () => Promise<void>): void {
  const form = byId(ID.loginForm);
  const input = byId<HTMLInputElement>(ID.apiKey);
  const error = byId(ID.loginError);
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
    byId(ID.login).hidden = true;
    clearFieldError(error);
    await enterView();
  });
  byId(ID.signOut).addEventListener("click", () => signOut());
  byId(ID.alertSignIn).addEventListener("click", () => signOut());
}

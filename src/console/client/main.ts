/**
 * The console in the browser: signs in with a management API key, then renders the page's view
 * (<body data-view>) from the management API's JSON. Bundled by src/console/build.mjs into
 * /console/app.js; type-checked against the DOM by ./tsconfig.json.
 */
import { byId, clearAlert, wireDialogs } from "./dom";
import { ID } from "../ids";
import { keyStore } from "./api";
import { showAccessTokens, wireAccessTokens } from "./access-tokens";
import { showDeployments, showOverview } from "./deployments";
import { handleError, signOut, wireLogin } from "./session";

const view = document.body.dataset.view;
const deploymentId = document.body.dataset.deploymentId ?? "";

async function enterView(): Promise<void> {
  byId(ID.login).hidden = true;
  byId(ID.signOut).hidden = false;
  byId(ID.view).hidden = false;
  clearAlert();
  try {
    if (view === "deployments") await showDeployments();
    else if (view === "overview") await showOverview(deploymentId);
    else if (view === "access-tokens") await showAccessTokens(deploymentId);
  } catch (err) {
    handleError(err);
  }
}

function start(): void {
  wireDialogs();
  wireLogin(enterView);
  if (view === "access-tokens") wireAccessTokens();
  if (view === "not-found") {
    byId(ID.view).hidden = false;
    return;
  }
  if (keyStore.get()) void enterView();
  else signOut();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();

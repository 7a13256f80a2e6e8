import type { Child, FC } from "hono/jsx";
import { raw } from "hono/html";

/**
 * The console's HTML, rendered by the Worker with Hono JSX (which escapes every text and
 * attribute value). The server cannot read data — it never sees the API key, which lives in the
 * browser's sessionStorage — so a page is the static frame of one view: headings, tabs, the
 * labelled forms and dialogs. The client script (client/console-client.js) fills in the data it
 * fetches from /admin with the key, building nodes with textContent only.
 */

export const CONSOLE_BASE = "/console";

/** Which view a page shows; the client script reads it from <body data-view>. */
export type View = "deployments" | "overview" | "access-tokens" | "not-found";

export const consolePath = {
  home: CONSOLE_BASE,
  deployment: (id: string) => `${CONSOLE_BASE}/deployments/${encodeURIComponent(id)}`,
  accessTokens: (id: string) => `${CONSOLE_BASE}/deployments/${encodeURIComponent(id)}/access-tokens`,
  script: `${CONSOLE_BASE}/app.js`,
  stylesheet: `${CONSOLE_BASE}/app.css`,
  icon: `${CONSOLE_BASE}/favicon.svg`,
};

interface LayoutProps {
  title: string;
  nonce: string;
  view: View;
  deploymentId?: string;
  children?: Child;
}

const Layout: FC<LayoutProps> = ({ title, nonce, view, deploymentId, children }) => (
  <>
    {raw("<!doctype html>")}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <meta name="robots" content="noindex" />
        <title>{`${title} · Metrics console`}</title>
        <link rel="icon" type="image/svg+xml" href={consolePath.icon} />
        <link rel="stylesheet" href={consolePath.stylesheet} />
        <script src={consolePath.script} nonce={nonce} defer></script>
      </head>
      <body data-view={view} data-deployment-id={deploymentId}>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <header class="topbar">
          <a class="brand" href={consolePath.home}>
            <span class="brand-mark" aria-hidden="true"></span>
            Metrics console
          </a>
          <button type="button" id="sign-out" class="button quiet" hidden>
            Sign out
          </button>
        </header>
        <main id="main" tabindex={-1}>
          <div id="alert" class="alert" role="alert" hidden>
            <p id="alert-text"></p>
            <button type="button" id="alert-sign-in" class="button" hidden>
              Sign in again
            </button>
          </div>
          <p id="status" class="status" role="status" aria-live="polite"></p>
          <noscript>
            <p class="alert">The console needs JavaScript. The same operations are available through the management API under /admin.</p>
          </noscript>
          <LoginForm />
          <div id="view" hidden>
            {children}
          </div>
        </main>
      </body>
    </html>
  </>
);

/**
 * The API key form. The input has no `name`, so even a native submission (which the policy's
 * `form-action 'none'` blocks anyway) could not carry the key into a URL.
 */
const LoginForm: FC = () => (
  <section id="login" class="card narrow" aria-labelledby="login-title" hidden>
    <h1 id="login-title">Sign in</h1>
    <p>
      Enter a management API key. It is kept in this browser tab only (session storage) and sent to the management API in the <code>X-VM-Cloud-Access</code>{" "}
      header; closing the tab forgets it.
    </p>
    <form id="login-form" class="form" novalidate>
      <label for="api-key">API key</label>
      <input id="api-key" type="password" autocomplete="off" spellcheck={false} required aria-describedby="api-key-help" />
      <p id="api-key-help" class="help">
        The Worker secret <code>ADMIN_API_KEY</code> or a key created with <code>POST /admin/api/v1/api_keys</code> (<code>vmak_…</code>).
      </p>
      <p id="login-error" class="field-error" role="alert" hidden></p>
      <div class="actions">
        <button type="submit" class="button primary">
          Sign in
        </button>
      </div>
    </form>
  </section>
);

// Tables spell out their ARIA roles: at phone width the stylesheet lays rows out as cards
// (display: block), which would otherwise drop the table semantics screen readers rely on.

export const DeploymentsPage: FC<{ nonce: string }> = ({ nonce }) => (
  <Layout title="Deployments" nonce={nonce} view="deployments">
    <div class="page-head">
      <h1>Deployments</h1>
    </div>
    <div class="table-wrap">
      <table id="deployments" class="data-table" role="table">
        <caption class="visually-hidden">Deployments</caption>
        <thead role="rowgroup">
          <tr role="row">
            <th scope="col" role="columnheader">Name</th>
            <th scope="col" role="columnheader">Type</th>
            <th scope="col" role="columnheader">Tier</th>
            <th scope="col" role="columnheader">Status</th>
            <th scope="col" role="columnheader">Created</th>
          </tr>
        </thead>
        <tbody id="deployments-body" role="rowgroup"></tbody>
      </table>
    </div>
    <p id="deployments-empty" class="empty" hidden>
      No deployments yet. Register one with <code>POST /admin/api/v1/deployments</code> (see the README).
    </p>
  </Layout>
);

const DeploymentFrame: FC<{ id: string; tab: "overview" | "access-tokens"; children?: Child }> = ({ id, tab, children }) => (
  <>
    <nav class="breadcrumb" aria-label="Breadcrumb">
      <a href={consolePath.home}>Deployments</a>
      <span aria-hidden="true"> / </span>
      <span id="crumb-name" aria-current="page">
        {id}
      </span>
    </nav>
    <div class="page-head">
      <h1 id="deployment-name">Deployment</h1>
      <span id="deployment-status" class="badge" hidden></span>
    </div>
    <nav class="tabs" aria-label="Deployment">
      <a href={consolePath.deployment(id)} aria-current={tab === "overview" ? "page" : undefined}>
        Overview
      </a>
      <a href={consolePath.accessTokens(id)} aria-current={tab === "access-tokens" ? "page" : undefined}>
        Access tokens
      </a>
    </nav>
    {children}
  </>
);

export const OverviewPage: FC<{ nonce: string; id: string }> = ({ nonce, id }) => (
  <Layout title="Overview" nonce={nonce} view="overview" deploymentId={id}>
    <DeploymentFrame id={id} tab="overview">
      <section class="card" aria-labelledby="endpoint-title">
        <h2 id="endpoint-title">Access endpoint</h2>
        <p class="help">Point clients here with an access token; the Worker routes their requests to this deployment.</p>
        <button type="button" id="copy-endpoint" class="copy-field" aria-describedby="copy-endpoint-hint" disabled>
          <span id="endpoint-url" class="mono">…</span>
          <span class="copy-label" aria-hidden="true">
            Copy
          </span>
        </button>
        <p id="copy-endpoint-hint" class="help">
          Click to copy.
        </p>
      </section>
      <section class="card" aria-labelledby="details-title">
        <h2 id="details-title">Details</h2>
        <dl id="deployment-details" class="details"></dl>
      </section>
    </DeploymentFrame>
  </Layout>
);

export const AccessTokensPage: FC<{ nonce: string; id: string }> = ({ nonce, id }) => (
  <Layout title="Access tokens" nonce={nonce} view="access-tokens" deploymentId={id}>
    <DeploymentFrame id={id} tab="access-tokens">
      <div class="toolbar">
        <p id="token-count" class="help">
          Access tokens authenticate clients on the data plane.
        </p>
        <button type="button" id="generate-open" class="button primary" aria-haspopup="dialog">
          Generate Token
        </button>
      </div>
      <div class="table-wrap">
        <table id="tokens" class="data-table" role="table">
          <caption class="visually-hidden">Access tokens</caption>
          <thead role="rowgroup">
            <tr role="row">
              <th scope="col" role="columnheader">Name</th>
              <th scope="col" role="columnheader">Key</th>
              <th scope="col" role="columnheader">Access</th>
              <th scope="col" role="columnheader">Tenant</th>
              <th scope="col" role="columnheader">Created</th>
              <th scope="col" role="columnheader">Last used</th>
              <th scope="col" role="columnheader">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody id="tokens-body" role="rowgroup"></tbody>
        </table>
      </div>
      <p id="tokens-empty" class="empty" hidden>
        This deployment has no access tokens. Generate one to let a client in.
      </p>
      <GenerateDialog />
      <ExamplesDialog />
      <DeleteDialog />
    </DeploymentFrame>
  </Layout>
);

const ACCESS_LEVELS = [
  { value: "r", label: "Read", help: "Queries: Grafana, vmalert, the HTTP query API." },
  { value: "w", label: "Write", help: "Ingestion: vmagent, Prometheus remote_write, imports." },
  { value: "rw", label: "Read/Write", help: "Both." },
] as const;

const GenerateDialog: FC = () => (
  <dialog id="generate-dialog" class="dialog" aria-labelledby="generate-title">
    <form id="generate-form" class="form" novalidate>
      <h2 id="generate-title">Generate Token</h2>
      <label for="token-name">Name</label>
      <input id="token-name" type="text" maxlength={256} autocomplete="off" required aria-describedby="token-name-help" />
      <p id="token-name-help" class="help">
        Shown in the token list and the audit log, e.g. the client or team using it.
      </p>
      <fieldset class="choices">
        <legend>Access level</legend>
        {ACCESS_LEVELS.map((level) => (
          <label class="choice">
            <input type="radio" name="access" value={level.value} required />
            <span>
              <strong>{level.label}</strong>
              <span class="help">{level.help}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <details id="advanced-settings" hidden>
        <summary>Advanced Settings</summary>
        <label for="token-tenant">Tenant</label>
        <input id="token-tenant" type="text" inputmode="numeric" autocomplete="off" pattern="\d+(:\d+)?" aria-describedby="token-tenant-help" />
        <p id="token-tenant-help" class="help">
          <code>accountID</code> or <code>accountID:projectID</code>. Pins the token to that tenant: its URLs then carry no tenant. Leave empty for a token whose URLs name the
          tenant (<code>/insert/0/…</code>).
        </p>
      </details>
      <p id="generate-error" class="field-error" role="alert" hidden></p>
      <div class="actions">
        <button type="button" class="button" data-close-dialog>
          Cancel
        </button>
        <button type="submit" id="generate-submit" class="button primary">
          Generate
        </button>
      </div>
    </form>
  </dialog>
);

const ExamplesDialog: FC = () => (
  <dialog id="examples-dialog" class="dialog wide" aria-labelledby="examples-title" aria-describedby="examples-subtitle">
    <div class="dialog-head">
      <h2 id="examples-title">Examples</h2>
      <button type="button" class="button quiet" data-close-dialog aria-label="Close examples">
        ✕
      </button>
    </div>
    <p id="examples-subtitle" class="help"></p>
    <div class="examples-bar">
      <div role="tablist" aria-label="Client type" class="segmented">
        <button type="button" role="tab" id="examples-tab-write" aria-controls="examples-panel-write" aria-selected="false" tabindex={-1} hidden>
          Write
        </button>
        <button type="button" role="tab" id="examples-tab-read" aria-controls="examples-panel-read" aria-selected="false" tabindex={-1} hidden>
          Read
        </button>
      </div>
      <label class="toggle">
        <input type="checkbox" id="examples-show-secret" />
        Show secret
      </label>
    </div>
    <p id="examples-error" class="field-error" role="alert" hidden></p>
    <div role="tabpanel" id="examples-panel-write" aria-labelledby="examples-tab-write" class="snippets" hidden></div>
    <div role="tabpanel" id="examples-panel-read" aria-labelledby="examples-tab-read" class="snippets" hidden></div>
    <ul id="examples-notes" class="notes"></ul>
    <p class="status" role="status" aria-live="polite"></p>
  </dialog>
);

const DeleteDialog: FC = () => (
  <dialog id="delete-dialog" class="dialog" role="alertdialog" aria-labelledby="delete-title" aria-describedby="delete-text">
    <h2 id="delete-title">Delete access token?</h2>
    <p id="delete-text">
      Token <strong id="delete-name"></strong> will be refused at its next request, everywhere. Clients still using it stop sending and reading data. This cannot be undone.
    </p>
    <p id="delete-error" class="field-error" role="alert" hidden></p>
    <div class="actions">
      <button type="button" class="button" data-close-dialog autofocus>
        Cancel
      </button>
      <button type="button" id="delete-confirm" class="button danger">
        Delete token
      </button>
    </div>
  </dialog>
);

export const NotFoundPage: FC<{ nonce: string }> = ({ nonce }) => (
  <Layout title="Not found" nonce={nonce} view="not-found">
    <section class="card narrow">
      <h1>No such console page</h1>
      <p>
        <a href={consolePath.home}>Go to the deployments</a>.
      </p>
    </section>
  </Layout>
);

import type { Child, FC } from "hono/jsx";
import { raw } from "hono/html";
import { DEFAULT_USAGE_RANGE } from "./usage-ranges";
import { ID } from "./ids";
import { ExplainDialog } from "./explain-dialog";
import { UsageDialog } from "./usage-dialog";
import { DeleteDialog, ExamplesDialog, GenerateDialog, RotateDialog } from "./token-dialogs";

/**
 * The console's HTML, rendered by the Worker with Hono JSX (which escapes every text and
 * attribute value). The server cannot read data — it never sees the API key, which lives in the
 * browser's sessionStorage — so a page is the static frame of one view: headings, tabs, the
 * labelled forms and dialogs. The client script (client/, bundled into /console/app.js) fills in the
 * data it fetches from /admin with the key, building nodes with textContent only. Ids the script
 * looks up come from ids.ts.
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
          <button type="button" id={ID.signOut} class="button quiet" hidden>
            Sign out
          </button>
        </header>
        <main id="main" tabindex={-1}>
          <div id={ID.alert} class="alert" role="alert" hidden>
            <p id={ID.alertText}></p>
            <button type="button" id={ID.alertSignIn} class="button" hidden>
              Sign in again
            </button>
          </div>
          <p id={ID.status} class="status" role="status" aria-live="polite"></p>
          <noscript>
            <p class="alert">The console needs JavaScript. The same operations are available through the management API under /admin.</p>
          </noscript>
          <LoginForm />
          <div id={ID.view} hidden>
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
  <section id={ID.login} class="card narrow" aria-labelledby="login-title" hidden>
    <h1 id="login-title">Sign in</h1>
    <p>
      Enter a management API key. It is kept in this browser tab only (session storage) and sent to the management API in the <code>X-VM-Cloud-Access</code>{" "}
      header; closing the tab forgets it.
    </p>
    <form id={ID.loginForm} class="form" novalidate>
      <label for={ID.apiKey}>API key</label>
      <input id={ID.apiKey} type="password" autocomplete="off" spellcheck={false} required aria-describedby="api-key-help" />
      <p id="api-key-help" class="help">
        The Worker secret <code>ADMIN_API_KEY</code> or a key created with <code>POST /admin/api/v1/api_keys</code> (<code>vmak_…</code>).
      </p>
      <p id={ID.loginError} class="field-error" role="alert" hidden></p>
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
      <table id={ID.deployments} class="data-table" role="table">
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
        <tbody id={ID.deploymentsBody} role="rowgroup"></tbody>
      </table>
    </div>
    <p id={ID.deploymentsEmpty} class="empty" hidden>
      No deployments yet. Register one with <code>POST /admin/api/v1/deployments</code> (see the README).
    </p>
  </Layout>
);

const DeploymentFrame: FC<{ id: string; tab: "overview" | "access-tokens"; children?: Child }> = ({ id, tab, children }) => (
  <>
    <nav class="breadcrumb" aria-label="Breadcrumb">
      <a href={consolePath.home}>Deployments</a>
      <span aria-hidden="true"> / </span>
      <span id={ID.crumbName} aria-current="page">
        {id}
      </span>
    </nav>
    <div class="page-head">
      <h1 id={ID.deploymentName}>Deployment</h1>
      <span id={ID.deploymentStatus} class="badge" hidden></span>
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
        <button type="button" id={ID.copyEndpoint} class="copy-field" aria-describedby="copy-endpoint-hint" disabled>
          <span id={ID.endpointUrl} class="mono">…</span>
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
        <dl id={ID.deploymentDetails} class="details"></dl>
      </section>
      <section class="card" aria-labelledby="deployment-usage-title">
        <h2 id="deployment-usage-title">Usage</h2>
        <p class="help">All live access tokens, {DEFAULT_USAGE_RANGE.words}. Counts arrive within about a minute of the requests.</p>
        <p id={ID.deploymentUsageError} class="field-error" role="alert" hidden></p>
        <div id={ID.deploymentUsage} class="usage" aria-live="polite" aria-busy="true">
          <p class="help">Loading…</p>
        </div>
      </section>
    </DeploymentFrame>
  </Layout>
);

export const AccessTokensPage: FC<{ nonce: string; id: string }> = ({ nonce, id }) => (
  <Layout title="Access tokens" nonce={nonce} view="access-tokens" deploymentId={id}>
    <DeploymentFrame id={id} tab="access-tokens">
      <div class="toolbar">
        <p id={ID.tokenCount} class="help">
          Access tokens authenticate clients on the data plane.
        </p>
        <button type="button" id={ID.generateOpen} class="button primary" aria-haspopup="dialog">
          Generate Token
        </button>
      </div>
      <div class="table-wrap">
        <table id={ID.tokens} class="data-table" role="table">
          <caption class="visually-hidden">Access tokens</caption>
          <thead role="rowgroup">
            <tr role="row">
              <th scope="col" role="columnheader">Name</th>
              <th scope="col" role="columnheader">Key</th>
              <th scope="col" role="columnheader">Access</th>
              <th scope="col" role="columnheader">Tenant</th>
              <th scope="col" role="columnheader">Created</th>
              <th scope="col" role="columnheader">Last used</th>
              <th scope="col" role="columnheader">Expires</th>
              <th scope="col" role="columnheader">Restrictions</th>
              <th scope="col" role="columnheader">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody id={ID.tokensBody} role="rowgroup"></tbody>
        </table>
      </div>
      <p id={ID.tokensEmpty} class="empty" hidden>
        This deployment has no access tokens. Generate one to let a client in.
      </p>
      <GenerateDialog />
      <ExamplesDialog />
      <RotateDialog />
      <ExplainDialog />
      <UsageDialog />
      <DeleteDialog />
    </DeploymentFrame>
  </Layout>
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

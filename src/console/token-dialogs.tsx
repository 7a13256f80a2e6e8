import type { FC } from "hono/jsx";
import { MAX_TOKEN_LABELS } from "../policy/label-scope";
import { MAX_ALLOWED_NETWORKS } from "../policy/networks";
import { TENANT_ID_PATTERN } from "../tokens/tenant-id";
import { TOKEN_DESCRIPTION_MAX } from "../tokens/vocabulary";
import { ACCESS_LEVELS } from "../tokens/words";
import { examplesPanelId, examplesTabId, ID } from "./ids";
import { ACCESS_CHOICES, EXPIRY_CHOICES, OVERLAP_CHOICES } from "./labels";

/** The dialogs of the access tokens page: Generate, Examples, Rotate and Delete. */

export const GenerateDialog: FC = () => (
  <dialog id={ID.generateDialog} class="dialog" aria-labelledby="generate-title">
    <form id={ID.generateForm} class="form" novalidate>
      <h2 id="generate-title">Generate Token</h2>
      <label for={ID.tokenName}>Name</label>
      <input id={ID.tokenName} type="text" maxlength={TOKEN_DESCRIPTION_MAX} autocomplete="off" required aria-describedby="token-name-help" />
      <p id="token-name-help" class="help">
        Shown in the token list and the audit log, e.g. the client or team using it.
      </p>
      <fieldset class="choices">
        <legend>Access level</legend>
        {ACCESS_LEVELS.map((level) => (
          <label class="choice">
            <input type="radio" name="access" value={level} required />
            <span>
              <strong>{ACCESS_CHOICES[level].label}</strong>
              <span class="help">{ACCESS_CHOICES[level].help}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <details id={ID.advancedSettings}>
        <summary>Advanced Settings</summary>
        <div id={ID.tokenTenantGroup} hidden>
          <label for={ID.tokenTenant}>Tenant</label>
          <input id={ID.tokenTenant} type="text" inputmode="numeric" autocomplete="off" pattern={TENANT_ID_PATTERN} aria-describedby="token-tenant-help" />
          <p id="token-tenant-help" class="help">
            <code>accountID</code> or <code>accountID:projectID</code>. Pins the token to that tenant: its URLs then carry no tenant. Leave empty for a token whose URLs name
            the tenant (<code>/insert/0/…</code>).
          </p>
        </div>
        <label for={ID.tokenExpiry}>Expires</label>
        <select id={ID.tokenExpiry} aria-describedby="token-expiry-help">
          {EXPIRY_CHOICES.map(([days, label]) => (
            <option value={String(days)}>{label}</option>
          ))}
        </select>
        <p id="token-expiry-help" class="help">
          After that the token is refused. Rotate it before then to hand clients a successor.
        </p>
        <label for={ID.tokenNetworks}>Allowed networks</label>
        <textarea id={ID.tokenNetworks} rows={2} autocomplete="off" spellcheck={false} aria-describedby="token-networks-help"></textarea>
        <p id="token-networks-help" class="help">
          One IPv4 or IPv6 network per line, e.g. <code>10.0.0.0/8</code> (at most {MAX_ALLOWED_NETWORKS}). Requests from other addresses are refused. Empty: any address.
        </p>
        <label for={ID.tokenLabels}>Labels</label>
        <textarea id={ID.tokenLabels} rows={2} autocomplete="off" spellcheck={false} aria-describedby="token-labels-help"></textarea>
        <p id="token-labels-help" class="help">
          One <code>name=value</code> per line, e.g. <code>team=payments</code> (at most {MAX_TOKEN_LABELS}). Every sample written carries them; reads see only series that
          carry them. Empty: no label scope.
        </p>
      </details>
      <p id={ID.generateError} class="field-error" role="alert" hidden></p>
      <div class="actions">
        <button type="button" class="button" data-close-dialog>
          Cancel
        </button>
        <button type="submit" id={ID.generateSubmit} class="button primary">
          Generate
        </button>
      </div>
    </form>
  </dialog>
);

export const ExamplesDialog: FC = () => (
  <dialog id={ID.examplesDialog} class="dialog wide" aria-labelledby="examples-title" aria-describedby={ID.examplesSubtitle}>
    <div class="dialog-head">
      <h2 id="examples-title">Examples</h2>
      <button type="button" class="button quiet" data-close-dialog aria-label="Close examples">
        ✕
      </button>
    </div>
    <p id={ID.examplesSubtitle} class="help"></p>
    <div class="examples-bar">
      <div role="tablist" aria-label="Client type" class="segmented">
        <button type="button" role="tab" id={examplesTabId("write")} aria-controls={examplesPanelId("write")} aria-selected="false" tabindex={-1} hidden>
          Write
        </button>
        <button type="button" role="tab" id={examplesTabId("read")} aria-controls={examplesPanelId("read")} aria-selected="false" tabindex={-1} hidden>
          Read
        </button>
      </div>
      <label class="toggle">
        <input type="checkbox" id={ID.examplesShowSecret} />
        Show secret
      </label>
    </div>
    <p id={ID.examplesError} class="field-error" role="alert" hidden></p>
    <div role="tabpanel" id={examplesPanelId("write")} aria-labelledby={examplesTabId("write")} class="snippets" hidden></div>
    <div role="tabpanel" id={examplesPanelId("read")} aria-labelledby={examplesTabId("read")} class="snippets" hidden></div>
    <ul id={ID.examplesNotes} class="notes"></ul>
    <p class="status" role="status" aria-live="polite"></p>
  </dialog>
);

export const DeleteDialog: FC = () => (
  <dialog id={ID.deleteDialog} class="dialog" role="alertdialog" aria-labelledby="delete-title" aria-describedby="delete-text">
    <h2 id="delete-title">Delete access token?</h2>
    <p id="delete-text">
      Token <strong id={ID.deleteName}></strong> will be refused at its next request, everywhere. Clients still using it stop sending and reading data. This cannot be undone.
    </p>
    <p id={ID.deleteError} class="field-error" role="alert" hidden></p>
    <div class="actions">
      <button type="button" class="button" data-close-dialog autofocus>
        Cancel
      </button>
      <button type="button" id={ID.deleteConfirm} class="button danger">
        Delete token
      </button>
    </div>
  </dialog>
);

export const RotateDialog: FC = () => (
  <dialog id={ID.rotateDialog} class="dialog" aria-labelledby="rotate-title" aria-describedby="rotate-text">
    <form id={ID.rotateForm} class="form" novalidate>
      <h2 id="rotate-title">Rotate access token?</h2>
      <p id="rotate-text">
        Token <strong id={ID.rotateName}></strong> gets a successor with the same access, tenant, restrictions and name. The old token keeps working for the overlap you choose,
        then it is refused: move its clients to the new one before then.
      </p>
      <label for={ID.rotateOverlap}>Overlap</label>
      <select id={ID.rotateOverlap}>
        {OVERLAP_CHOICES.map(([seconds, label]) => (
          <option value={String(seconds)} selected={seconds === 3600}>
            {label}
          </option>
        ))}
      </select>
      <p id={ID.rotateError} class="field-error" role="alert" hidden></p>
      <div class="actions">
        <button type="button" class="button" data-close-dialog>
          Cancel
        </button>
        <button type="submit" id={ID.rotateConfirm} class="button primary">
          Rotate
        </button>
      </div>
    </form>
  </dialog>
);


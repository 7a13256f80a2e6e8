import type { FC } from "hono/jsx";
import { ID } from "./ids";

/** Methods the "Test a URL" dialog offers; the route decision does not depend on them (docs/management.md, Explain). */
export const EXPLAIN_METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD"] as const;

/**
 * "Test a URL" for one token: what the data path would do with a request (POST …/explain).
 * Nothing is sent upstream, so it is safe to try anything.
 */
export const ExplainDialog: FC = () => (
  <dialog id={ID.explainDialog} class="dialog" aria-labelledby="explain-title" aria-describedby={ID.explainSubtitle}>
    <form id={ID.explainForm} class="form" novalidate>
      <h2 id="explain-title">Test a URL</h2>
      <p id={ID.explainSubtitle}></p>
      <label for={ID.explainMethod}>Method</label>
      <select id={ID.explainMethod}>
        {EXPLAIN_METHODS.map((m) => (
          <option value={m}>{m}</option>
        ))}
      </select>
      <label for={ID.explainPath}>Path</label>
      <input id={ID.explainPath} type="text" class="mono" autocomplete="off" spellcheck={false} required placeholder="/api/v1/query?query=up" aria-describedby="explain-path-help" />
      <p id="explain-path-help" class="help">
        The path and query string as the client sends them, after the access endpoint. Nothing is sent to VictoriaMetrics.
      </p>
      <label for={ID.explainAddress}>Client address (optional)</label>
      <input id={ID.explainAddress} type="text" class="mono" autocomplete="off" spellcheck={false} aria-describedby="explain-address-help" />
      <p id="explain-address-help" class="help">
        Checked against the token's allowed networks. Empty: they are not checked.
      </p>
      <p id={ID.explainError} class="field-error" role="alert" hidden></p>
      <div id={ID.explainResult} class="explain-result" role="status" aria-live="polite" hidden></div>
      <div class="actions">
        <button type="button" class="button" data-close-dialog>
          Close
        </button>
        <button type="submit" id={ID.explainSubmit} class="button primary">
          Test
        </button>
      </div>
    </form>
  </dialog>
);

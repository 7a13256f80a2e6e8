import type { FC } from "hono/jsx";
import { ID } from "./ids";

/**
 * "Usage" for one token (GET …/usage): requests and refusals over the last 24 hours, the last
 * use, and a chart of both over time. The script (client/usage.ts) fills the body.
 */
export const UsageDialog: FC = () => (
  <dialog id={ID.usageDialog} class="dialog wide" aria-labelledby="usage-title" aria-describedby={ID.usageSubtitle}>
    <div class="dialog-head">
      <h2 id="usage-title">Usage</h2>
      <button type="button" class="button quiet" data-close-dialog aria-label="Close usage">
        ✕
      </button>
    </div>
    <p id={ID.usageSubtitle}></p>
    <p id={ID.usageError} class="field-error" role="alert" hidden></p>
    <div id={ID.usageBody} class="usage" aria-live="polite" aria-busy="false"></div>
  </dialog>
);

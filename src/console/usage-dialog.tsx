import type { FC } from "hono/jsx";
import { ID } from "./ids";
import { DEFAULT_USAGE_RANGE, USAGE_RANGES } from "./usage-ranges";

/**
 * "Usage" for one token (GET …/usage): requests and refusals over a range (24 hours, 7 or 30
 * days), the upstream's latency, bytes, concurrency and permit waits, the last use, and a chart
 * of requests and refusals over time. The script (client/usage.ts) fills the body.
 */
export const UsageDialog: FC = () => (
  <dialog id={ID.usageDialog} class="dialog wide" aria-labelledby="usage-title" aria-describedby={ID.usageSubtitle}>
    <div class="dialog-head">
      <h2 id="usage-title">Usage</h2>
      <button type="button" class="button quiet" data-close-dialog aria-label="Close usage">
        ✕
      </button>
    </div>
    <div class="usage-bar">
      <p id={ID.usageSubtitle}></p>
      <fieldset id={ID.usageRange} class="range-picker">
        <legend class="visually-hidden">Range</legend>
        {USAGE_RANGES.map((r) => (
          <label>
            <input type="radio" name="usage-range" value={r.id} checked={r.id === DEFAULT_USAGE_RANGE.id} />
            {r.label}
          </label>
        ))}
      </fieldset>
    </div>
    <p id={ID.usageError} class="field-error" role="alert" hidden></p>
    <div id={ID.usageBody} class="usage" aria-live="polite" aria-busy="false"></div>
  </dialog>
);

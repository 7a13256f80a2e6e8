// The end-to-end suite's summary: one row per client and scenario, plus measured values, printed
// as a Markdown table at the end of the run and written to test-results/e2e-summary.md.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface SummaryRow {
  client: string;
  scenario: string;
  /** Requests the client made (through its tap), or undefined when not counted. */
  requests?: number;
  /** Status (or "conn": connection failed) → count, every answer that was not 2xx. */
  refusals?: Record<string, number>;
  /** Samples the client was given (served by its scrape target / written by its rules). */
  samplesSent?: number;
  /** Samples in requests the Worker answered 2xx (duplicates from retries included). */
  samplesAccepted?: number;
  /** Distinct sent samples found at the destination. */
  samplesFound?: number;
  /** Extra copies of found samples (a retried request that had landed). */
  duplicates?: number;
  /** Outcome in a few words. */
  result: string;
}

export class Summary {
  readonly rows: SummaryRow[] = [];
  readonly measurements: { name: string; value: string }[] = [];

  add(row: SummaryRow): void {
    this.rows.push(row);
  }

  measure(name: string, value: string): void {
    this.measurements.push({ name, value });
  }

  render(title = "End-to-end summary"): string {
    const n = (v: number | undefined) => (v === undefined ? "–" : String(v));
    const refusals = (r: Record<string, number> | undefined) => {
      if (r === undefined) return "–";
      const parts = Object.entries(r)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([status, count]) => `${status}×${count}`);
      return parts.length ? parts.join(", ") : "none";
    };
    const cell = (s: string) => s.replace(/\|/g, "\\|");
    const lines = [
      `## ${title}`,
      "",
      "| client | scenario | requests | refusals by status | samples sent / accepted / found (dup) | result |",
      "|---|---|---:|---|---|---|",
      ...this.rows.map((r) => {
        const samples =
          r.samplesSent === undefined && r.samplesFound === undefined
            ? "–"
            : `${n(r.samplesSent)} / ${n(r.samplesAccepted)} / ${n(r.samplesFound)}${r.duplicates ? ` (${r.duplicates})` : ""}`;
        return `| ${cell(r.client)} | ${cell(r.scenario)} | ${n(r.requests)} | ${refusals(r.refusals)} | ${samples} | ${cell(r.result)} |`;
      }),
    ];
    if (this.measurements.length) {
      lines.push("", "| measurement | value |", "|---|---|", ...this.measurements.map((m) => `| ${cell(m.name)} | ${cell(m.value)} |`));
    }
    lines.push(
      "",
      "refusals: non-2xx answers the client got (`conn`: the Worker was unreachable, during its restart). " +
        "accepted: samples in requests answered 2xx, counted at the client side; found: distinct samples at the destination.",
    );
    return lines.join("\n") + "\n";
  }

  write(file: string, title?: string): string {
    const text = this.render(title);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    return text;
  }
}

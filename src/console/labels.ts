import type { AccessLevel, DeploymentType } from "../tokens/vocabulary";

/** How the console names the token domain's words, on the pages and in the script alike. */

export const ACCESS_CHOICES: Record<AccessLevel, { label: string; help: string }> = {
  r: { label: "Read", help: "Queries: Grafana, vmalert, the HTTP query API." },
  w: { label: "Write", help: "Ingestion: vmagent, Prometheus remote_write, imports." },
  rw: { label: "Read/Write", help: "Both." },
};

export const TYPE_LABELS: Record<DeploymentType, string> = { single_node: "Single node", cluster: "Cluster" };

/** The Generate dialog's expiry choices: days from now (0: never). */
export const EXPIRY_CHOICES: readonly (readonly [days: number, label: string])[] = [
  [0, "Never"],
  [7, "In 7 days"],
  [30, "In 30 days"],
  [90, "In 90 days"],
  [365, "In 1 year"],
];

/** The Rotate dialog's overlap choices, in seconds (at most MAX_ROTATION_OVERLAP_SECONDS, 30 days). */
export const OVERLAP_CHOICES: readonly (readonly [seconds: number, label: string])[] = [
  [0, "None: refuse the old token now"],
  [300, "5 minutes"],
  [3600, "1 hour"],
  [86_400, "1 day"],
  [604_800, "7 days"],
];

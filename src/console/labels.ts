import type { AccessLevel, DeploymentType } from "../tokens/vocabulary";

/** How the console names the token domain's words, on the pages and in the script alike. */

export const ACCESS_CHOICES: Record<AccessLevel, { label: string; help: string }> = {
  r: { label: "Read", help: "Queries: Grafana, vmalert, the HTTP query API." },
  w: { label: "Write", help: "Ingestion: vmagent, Prometheus remote_write, imports." },
  rw: { label: "Read/Write", help: "Both." },
};

export const TYPE_LABELS: Record<DeploymentType, string> = { single_node: "Single node", cluster: "Cluster" };

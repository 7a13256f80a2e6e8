import type { AccessLevel, DeploymentType } from "../tokens/vocabulary";
import type { ExampleSnippet, TokenExamples } from "./response-schemas";

/**
 * Ready-to-paste client configuration for one access token (the console's Examples dialog), as a
 * pure function of the token, its deployment and the access endpoint. URLs follow design §5:
 *
 * | deployment / token         | write (remote_write)                          | read (data source)            |
 * |----------------------------|-----------------------------------------------|-------------------------------|
 * | single_node                | <endpoint>/api/v1/write                       | <endpoint>                    |
 * | cluster, regular token     | <endpoint>/insert/0/prometheus/api/v1/write   | <endpoint>/select/0/prometheus |
 * | cluster, tenant-specific   | <endpoint>/prometheus/api/v1/write            | <endpoint>/prometheus         |
 *
 * A regular cluster token names the tenant in the path; the snippets use tenant 0 and a note says
 * to pick the tenant. Only the tabs the token's access allows are offered. YAML values are
 * written as JSON strings (valid YAML double-quoted scalars) and shell words single-quoted, so any
 * deployment name or endpoint stays one value.
 */

export interface ExampleInput {
  /** env.ACCESS_ENDPOINT: the Worker's public URL. */
  endpoint: string;
  deployment: { id: string; name: string; type: DeploymentType };
  token: {
    id: string;
    type: AccessLevel;
    tenant_id: string | null;
    /** What the token enforces besides access and tenant; the notes say so. */
    expires_at?: number | null;
    allowed_networks?: readonly string[] | null;
    labels?: Readonly<Record<string, string>> | null;
  };
  secret: string;
}

/** Tenant used in the snippets of a regular (not tenant-specific) cluster token. */
export const EXAMPLE_TENANT = "0";

/** Path prefixes of the write and read APIs for this deployment and token. */
function prefixes(type: DeploymentType, tenantId: string | null): { write: string; read: string } {
  if (type === "single_node") return { write: "", read: "" };
  if (tenantId) return { write: "/prometheus", read: "/prometheus" };
  return { write: `/insert/${EXAMPLE_TENANT}/prometheus`, read: `/select/${EXAMPLE_TENANT}/prometheus` };
}

export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

const yamlString = (value: string) => JSON.stringify(value);

/** What a client must know about the token's policies (issue 13) before it relies on the snippets. */
function policyNotes(token: ExampleInput["token"], canWrite: boolean, canRead: boolean): string[] {
  const notes: string[] = [];
  if (token.expires_at != null) {
    notes.push(
      `This token expires at ${new Date(token.expires_at).toISOString()} and is refused (401) from then on: rotate it before then (console Rotate, \`vm-edge-authorizer tokens rotate\`) and move clients to the successor within the overlap.`,
    );
  }
  if (token.allowed_networks) {
    notes.push(`This token is accepted only from client addresses in ${token.allowed_networks.join(", ")} (the address Cloudflare sees); from anywhere else it is refused (403).`);
  }
  if (token.labels) {
    const pairs = Object.entries(token.labels).map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(", ");
    const does = [
      ...(canWrite ? [`every sample it writes carries ${pairs}, replacing any value the client sends for those labels`] : []),
      ...(canRead ? [`every query sees only series carrying ${pairs}`] : []),
    ];
    notes.push(`This token is label-scoped: ${does.join("; ")}. Endpoints that cannot be restricted (such as /api/v1/series/count and Graphite /tags) are refused (403).`);
  }
  return notes;
}

export function buildExamples(input: ExampleInput): TokenExamples {
  const endpoint = input.endpoint.replace(/\/+$/, "");
  const { deployment, token, secret } = input;
  const prefix = prefixes(deployment.type, token.tenant_id);
  const canWrite = token.type !== "r";
  const canRead = token.type !== "w";
  const writeUrl = `${endpoint}${prefix.write}/api/v1/write`;
  const importUrl = `${endpoint}${prefix.write}/api/v1/import/prometheus`;
  const readUrl = `${endpoint}${prefix.read}`;
  const bearer = `Authorization: Bearer ${secret}`;

  const examples: ExampleSnippet[] = [];
  if (canWrite) {
    examples.push(
      {
        id: "vmagent",
        tab: "write",
        title: "vmagent",
        language: "shell",
        content: [
          "# Scrape targets with -promscrape.config=<file> and/or accept pushes; forward everything here.",
          "vmagent \\",
          `  -remoteWrite.url=${shellQuote(writeUrl)} \\`,
          `  -remoteWrite.bearerToken=${shellQuote(secret)}`,
          "",
        ].join("\n"),
      },
      {
        id: "prometheus",
        tab: "write",
        title: "Prometheus remote_write",
        language: "yaml",
        filename: "prometheus.yml",
        content: [
          "# Add to prometheus.yml",
          "remote_write:",
          `  - url: ${yamlString(writeUrl)}`,
          "    authorization:",
          "      type: Bearer",
          `      credentials: ${yamlString(secret)}`,
          "",
        ].join("\n"),
      },
      {
        id: "curl_write",
        tab: "write",
        title: "curl (write one sample)",
        language: "shell",
        content: [
          "curl -sS \\",
          `  -H ${shellQuote(bearer)} \\`,
          `  --data-binary ${shellQuote('example_metric{source="curl"} 1')} \\`,
          `  ${shellQuote(importUrl)}`,
          "",
        ].join("\n"),
      },
    );
  }
  if (canRead) {
    examples.push(
      {
        id: "grafana",
        tab: "read",
        title: "Grafana data source (provisioning)",
        language: "yaml",
        filename: "provisioning/datasources/victoriametrics.yaml",
        content: [
          "apiVersion: 1",
          "datasources:",
          `  - name: ${yamlString(deployment.name)}`,
          "    type: prometheus",
          "    access: proxy",
          `    url: ${yamlString(readUrl)}`,
          "    jsonData:",
          "      httpHeaderName1: Authorization",
          "    secureJsonData:",
          `      httpHeaderValue1: ${yamlString(`Bearer ${secret}`)}`,
          "",
        ].join("\n"),
      },
      {
        id: "curl_read",
        tab: "read",
        title: "curl (instant query)",
        language: "shell",
        content: [
          "curl -sS -G \\",
          `  -H ${shellQuote(bearer)} \\`,
          `  --data-urlencode ${shellQuote("query=up")} \\`,
          `  ${shellQuote(`${readUrl}/api/v1/query`)}`,
          "",
        ].join("\n"),
      },
    );
  }

  const notes: string[] = [];
  if (deployment.type === "cluster" && !token.tenant_id) {
    notes.push(
      `This token is not tied to a tenant: the URLs use tenant ${EXAMPLE_TENANT} (/insert/${EXAMPLE_TENANT}/…, /select/${EXAMPLE_TENANT}/…). Replace ${EXAMPLE_TENANT} with the tenant to use, as accountID or accountID:projectID.`,
    );
  }
  if (token.tenant_id) {
    notes.push(`This token is pinned to tenant ${token.tenant_id}: the Worker adds the tenant, so the URLs carry none.`);
  }
  notes.push(...policyNotes(token, canWrite, canRead));
  if (!canWrite) notes.push("This token is read-only: only read examples are offered.");
  if (!canRead) notes.push("This token is write-only: only write examples are offered.");
  notes.push("The snippets contain the token's secret: keep them out of version control and chat.");

  return {
    token_id: token.id,
    deployment_id: deployment.id,
    deployment_type: deployment.type,
    access: token.type,
    ...(token.tenant_id ? { tenant_id: token.tenant_id } : {}),
    ...(canWrite ? { write_url: writeUrl } : {}),
    ...(canRead ? { read_url: readUrl } : {}),
    notes,
    examples,
  };
}

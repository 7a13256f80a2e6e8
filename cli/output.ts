// What the CLI prints without --json: fixed-width tables and `field  value` blocks. Column
// getters are typed by the API's response schemas (src/admin/response-schemas.ts).
import type { AccessToken, ApiKey, AuditEntry, Deployment, Tier } from "../src/admin/response-schemas.ts";
import type { TokenUsage } from "../src/usage/report.ts";

export const clean = (value: unknown) => String(value ?? "").replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");

export type Column<T> = readonly [title: string, get: (row: T) => unknown];

/** Fixed-width columns; the last column is not padded. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map(([, get]) => clean(get(row))));
  const headers = columns.map(([title]) => title);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), ...cells.map(line)].join("\n");
}

/** One object as `key  value` lines: the keys of `order` first, then the others. */
export function fields(object: object, order: readonly string[]): string {
  const record = object as Record<string, unknown>;
  const keys = [...order.filter((k) => k in record), ...Object.keys(record).filter((k) => !order.includes(k))];
  const width = Math.max(...keys.map((k) => k.length));
  return keys.map((k) => `${k.padEnd(width)}  ${clean(typeof record[k] === "object" ? JSON.stringify(record[k]) : record[k])}`).join("\n");
}

/** "29d 23h left", "5m 10s left", "expired" — the time until an RFC 3339 instant. */
export function timeLeft(at: string, now = Date.now()): string {
  let seconds = Math.floor((Date.parse(at) - now) / 1000);
  if (seconds <= 0) return "expired";
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86_400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (seconds >= size || (unit === "s" && parts.length === 0)) {
      parts.push(`${Math.floor(seconds / size)}${unit}`);
      seconds %= size;
    }
    if (parts.length === 2) break;
  }
  return `${parts.join(" ")} left`;
}

/** What a token enforces besides its type and tenant, in one cell. */
function policies(t: AccessToken): string {
  const parts = [
    ...(t.allowed_networks ? [`allow=${t.allowed_networks.join(",")}`] : []),
    ...(t.labels ? [`labels=${Object.entries(t.labels).map(([k, v]) => `${k}=${v}`).join(",")}`] : []),
  ];
  return parts.length ? parts.join(" ") : "-";
}

export const VIEWS: {
  tier: Column<Tier>[];
  deployment: Column<Deployment>[];
  token: Column<AccessToken>[];
  apiKey: Column<ApiKey>[];
  audit: Column<AuditEntry>[];
} = {
  tier: [
    ["ID", (t) => t.id],
    ["NAME", (t) => t.name],
    ["TYPE", (t) => t.type],
    ["TOKENS", (t) => t.access_token_limit],
    ["CONCURRENCY", (t) => t.access_token_concurrent_requests],
  ],
  deployment: [
    ["ID", (d) => d.id],
    ["NAME", (d) => d.name],
    ["TYPE", (d) => d.type],
    ["TIER", (d) => d.tier],
    ["CREATED", (d) => d.created_at],
    ["UPSTREAM", (d) => d.upstream_url ?? `${d.insert_url} ${d.select_url}`],
  ],
  token: [
    ["ID", (t) => t.id],
    ["TYPE", (t) => t.type],
    ["TENANT", (t) => t.tenant_id ?? "-"],
    ["CREATED_BY", (t) => t.created_by],
    ["CREATED", (t) => t.created_at],
    ["LAST_USED", (t) => t.last_used_at ?? "never"],
    ["EXPIRES", (t) => (t.expires_at ? timeLeft(t.expires_at) : "never")],
    ["POLICIES", policies],
    // A list holds the secret's last 4 characters; create and reveal hold the whole secret.
    ["VALUE", (t) => (t.value.length > 4 ? t.value : `…${t.value}`)],
    ["DESCRIPTION", (t) => t.description],
  ],
  apiKey: [
    ["ID", (k) => k.id],
    ["NAME", (k) => k.name],
    ["ACCESS", (k) => k.access],
    ["DEPLOYMENTS", (k) => (k.deployment_ids ? k.deployment_ids.join(",") : "all")],
    ["EXPIRES", (k) => k.expires_at ?? "never"],
    ["CREATED_BY", (k) => k.created_by],
    ["CREATED", (k) => k.created_at],
  ],
  audit: [
    ["AT", (e) => e.at],
    ["ACTION", (e) => e.action],
    ["ACTOR", (e) => `${e.actor_name} (${e.actor_id})`],
    ["TARGET", (e) => `${e.target_type}/${e.target_id}`],
    ["DEPLOYMENT", (e) => e.deployment_id ?? "-"],
    ["REQUEST", (e) => e.request_id],
    ["DETAIL", (e) => (e.detail ? JSON.stringify(e.detail) : "")],
  ],
};

/** A token's usage (GET …/usage) as a short block: totals over the range, and the last use. */
export function usageText(u: TokenUsage): string {
  const list = (counts: Record<string, number | undefined>) =>
    Object.entries(counts)
      .filter(([, n]) => n)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ") || "-";
  const t = u.total;
  const ms = (v: number | null) => (v === null ? "-" : `${v} ms`);
  const last = u.last_used;
  const where = last && [last.address, [last.country, last.colo].filter(Boolean).join(", ")].filter(Boolean).join(" ");
  return fields(
    {
      range: `${u.since} to ${u.until} (step ${u.step})`,
      requests: `${t.requests} (${t.refused} refused by the authorizer)`,
      answers: list(t.answers),
      classes: list(t.classes),
      bytes: `in ${t.request_bytes}, out ${t.response_bytes}`,
      latency: `p50 ${ms(t.latency_ms.p50)}, p90 ${ms(t.latency_ms.p90)}, p99 ${ms(t.latency_ms.p99)}`,
      permits: `max ${t.max_concurrency} in flight; ${t.permit_waits} waited (${t.permit_wait_ms} ms)`,
      last_used: last ? `${last.at} ${last.class} ${last.answer}${where ? ` from ${where}` : ""}${last.user_agent ? ` by ${last.user_agent}` : ""}` : "never",
    },
    [],
  );
}


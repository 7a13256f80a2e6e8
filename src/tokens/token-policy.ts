import { z } from "zod";
import { MAX_TOKEN_LABELS, parseTokenLabels } from "../policy/label-scope";
import { MAX_ALLOWED_NETWORKS, parseAllowedNetworks } from "../policy/networks";

/**
 * The policies a token is created with besides its access level and tenant (issue 13): an expiry,
 * an address allowlist and a label scope, and the overlap a rotation grants the token it replaces.
 * The rules themselves live in src/policy (networks.ts, label-scope.ts), shared with the data
 * path; these schemas hand their one-line reasons to the management API as `<field>: <rule>`.
 */

/** Longest overlap a rotation grants: 30 days. */
export const MAX_ROTATION_OVERLAP_SECONDS = 30 * 24 * 60 * 60;

/** The reason of a policy parser, split into the sub-path it names and the rule. */
function addReason(ctx: z.RefinementCtx, reason: string, field: string, key?: string | number): void {
  const colon = reason.indexOf(": ");
  const prefix = colon >= 0 ? reason.slice(0, colon) : field;
  const rule = colon >= 0 ? reason.slice(colon + 2) : reason;
  // The parsers name the entry themselves (`allowed_networks[2]`, `labels.team`); keep that key.
  const path = key !== undefined && prefix !== field ? [key] : [];
  ctx.addIssue({ code: "custom", message: rule.replace(/\.$/, ""), path });
}

/** `allowed_networks`: IPv4/IPv6 CIDRs, canonicalised; absent or null: every address. */
export const AllowedNetworks = z
  .array(z.string())
  .transform((list, ctx) => {
    const parsed = parseAllowedNetworks(list);
    if (parsed.ok) return parsed.networks;
    addReason(ctx, parsed.reason, "allowed_networks", parsed.index);
    return z.NEVER;
  })
  .meta({
    description: `Client addresses (CF-Connecting-IP) the token may be used from: IPv4 and IPv6 CIDRs, a bare address meaning one host; 1 to ${MAX_ALLOWED_NETWORKS} entries, no host bits set, no zones. Stored and answered in canonical form. Omitted: every address.`,
    example: ["10.0.0.0/8", "2001:db8::/32"],
  });

/** `labels`: Prometheus label names to values; absent or null: no label scope. */
export const TokenLabels = z
  .record(z.string(), z.string())
  .transform((labels, ctx) => {
    const parsed = parseTokenLabels(labels);
    if (parsed.ok) return { ...parsed.labels };
    // `labels.<shown name>: <rule>` names one label; `labels: <rule>` the object.
    const named = /^labels\.([^:]+): /.exec(parsed.reason);
    addReason(ctx, parsed.reason, "labels", named?.[1]);
    return z.NEVER;
  })
  .meta({
    description: `Label scope: every sample the token writes carries exactly these labels (overriding the client's values), every read is restricted to series carrying them, and endpoints that cannot be restricted are refused. 1 to ${MAX_TOKEN_LABELS} Prometheus label names (not __-prefixed, not vm_account_id or vm_project_id) to non-empty values without control characters. Omitted: no label scope.`,
    example: { team: "payments" },
  });

/** `overlap_seconds` of a rotation: how long the replaced token keeps working. */
export const OverlapSeconds = z
  .number()
  .int({ message: "must be a whole number of seconds" })
  .min(0, { message: `must be from 0 to ${MAX_ROTATION_OVERLAP_SECONDS} (30 days)` })
  .max(MAX_ROTATION_OVERLAP_SECONDS, { message: `must be from 0 to ${MAX_ROTATION_OVERLAP_SECONDS} (30 days)` })
  .meta({ description: `Seconds the replaced token keeps working, 0 to ${MAX_ROTATION_OVERLAP_SECONDS} (30 days); never later than an expiry it already has.`, example: 3600 });

/** What a token enforces besides its access level and tenant, as the domain carries it. */
export interface TokenPolicies {
  /** Epoch milliseconds; null: never expires. */
  expiresAt: number | null;
  allowedNetworks: string[] | null;
  labels: Record<string, string> | null;
}

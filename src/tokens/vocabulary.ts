import { z } from "zod";

/**
 * The management wing's vocabulary, written once. Policy, store, request and response schemas
 * (and so /admin/openapi.json), the console and the CLI take their types from here; a new access
 * level, deployment type or audit action starts in this file.
 */

/** What an access token may do: read, write, or both. */
export const AccessLevel = z.enum(["r", "w", "rw"]);
export type AccessLevel = z.infer<typeof AccessLevel>;

/** A VictoriaMetrics deployment: one single-node upstream, or a cluster's vminsert + vmselect. */
export const DeploymentType = z.enum(["single_node", "cluster"]);
export type DeploymentType = z.infer<typeof DeploymentType>;

/** What a management API key may do: read-only, or read-write (create, change, reveal, revoke). */
export const ApiKeyAccess = z.enum(["r", "rw"]);
export type ApiKeyAccess = z.infer<typeof ApiKeyAccess>;

/** Every action the audit log records. */
export const AuditAction = z.enum([
  "deployment.create",
  "deployment.update",
  "deployment.delete",
  "access_token.create",
  "access_token.reveal",
  "access_token.revoke",
  "api_key.create",
  "api_key.revoke",
]);
export type AuditAction = z.infer<typeof AuditAction>;

/** The kind of object an audit entry is about. */
export const AuditTargetType = z.enum(["deployment", "access_token", "api_key"]);
export type AuditTargetType = z.infer<typeof AuditTargetType>;

/** Longest description a token may carry. */
export const TOKEN_DESCRIPTION_MAX = 256;

/** Description of the token every new deployment gets. */
export const DEFAULT_TOKEN_DESCRIPTION = "default";

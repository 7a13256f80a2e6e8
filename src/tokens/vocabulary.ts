import { z } from "zod";
import { ACCESS_LEVELS, API_KEY_ACCESS, AUDIT_ACTIONS, AUDIT_TARGET_TYPES, DEPLOYMENT_TYPES, EXAMPLE_IDS, EXAMPLE_TABS } from "./words";

/**
 * The management wing's vocabulary as zod schemas. Policy, store, request and response schemas
 * (and so /admin/openapi.json) take their types from here; the words themselves are in words.ts
 * (import-free, for the CLI and the console). A new access level, deployment type or audit action
 * starts in words.ts.
 */

/** What an access token may do: read, write, or both. */
export const AccessLevel = z.enum(ACCESS_LEVELS);
export type AccessLevel = z.infer<typeof AccessLevel>;

/** A VictoriaMetrics deployment: one single-node upstream, or a cluster's vminsert + vmselect. */
export const DeploymentType = z.enum(DEPLOYMENT_TYPES);
export type DeploymentType = z.infer<typeof DeploymentType>;

/** What a management API key may do: read-only, or read-write (create, change, reveal, revoke). */
export const ApiKeyAccess = z.enum(API_KEY_ACCESS);
export type ApiKeyAccess = z.infer<typeof ApiKeyAccess>;

/** Every action the audit log records. */
export const AuditAction = z.enum(AUDIT_ACTIONS);
export type AuditAction = z.infer<typeof AuditAction>;

/** The kind of object an audit entry is about. */
export const AuditTargetType = z.enum(AUDIT_TARGET_TYPES);
export type AuditTargetType = z.infer<typeof AuditTargetType>;

/** Longest description a token may carry. */
export const TOKEN_DESCRIPTION_MAX = 256;

/** Description of the token every new deployment gets. */
export const DEFAULT_TOKEN_DESCRIPTION = "default";

/** The client configuration snippets `…/examples` offers (src/admin/examples.ts builds them). */
export const ExampleId = z.enum(EXAMPLE_IDS);
export type ExampleId = z.infer<typeof ExampleId>;
export const ExampleTab = z.enum(EXAMPLE_TABS);
export type ExampleTab = z.infer<typeof ExampleTab>;

import type { AuditEntry } from "../store/audit";
import type { Caller } from "./actor";
import type { AuditAction, AuditTargetType } from "./vocabulary";

/** "access_token.revoke" → "access_token": an action's prefix names what it is about. */
type TargetOf<A extends string> = A extends `${infer T}.${string}` ? T : never;

// The return type holds the vocabulary to that rule: an action whose prefix is not a target
// type (src/tokens/words.ts) does not compile.
function targetTypeOf(action: AuditAction): AuditTargetType {
  return action.slice(0, action.indexOf(".")) as TargetOf<AuditAction>;
}

/** The audit row of `action` by `caller` at `at`, about `target` (of `deployment`, if any). */
export function auditEntry(
  caller: Caller,
  at: number,
  action: AuditAction,
  about: { target: string; deployment: string | null; detail?: Record<string, unknown> },
): AuditEntry {
  return {
    at,
    requestId: caller.requestId,
    actor: caller.actor,
    action,
    targetType: targetTypeOf(action),
    targetId: about.target,
    deploymentId: about.deployment,
    ...(about.detail ? { detail: about.detail } : {}),
  };
}

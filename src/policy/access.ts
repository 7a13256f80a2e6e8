import type { AccessLevel, RequestClass } from "./types";

/**
 * Which request classes each access level allows. `r` reads, `w` writes. Deleting series needs
 * `rw`: it destroys data, so neither a read-only token (Grafana) nor a write-only token (an agent
 * such as vmagent or Telegraf) should be able to do it — only the full-access token, which is
 * also what a deployment's default token is.
 */
const ALLOWED: Record<AccessLevel, readonly RequestClass[]> = {
  r: ["read"],
  w: ["write"],
  rw: ["read", "write", "delete"],
};

export function accessAllows(access: AccessLevel, requestClass: RequestClass): boolean {
  return ALLOWED[access]?.includes(requestClass) ?? false;
}

/** The levels that would allow a class, for the refusal message ("needs \"w\" or \"rw\""). */
export function levelsAllowing(requestClass: RequestClass): AccessLevel[] {
  return (Object.keys(ALLOWED) as AccessLevel[]).filter((level) => ALLOWED[level].includes(requestClass));
}

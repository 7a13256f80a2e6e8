/**
 * The management API from the browser. The API key lives in sessionStorage (this tab, until it
 * closes) and travels only in the key header of same-origin requests; secrets are fetched, never
 * navigated to, and never logged. Answers are typed by the API's response schemas.
 */
import type { Tier } from "../../admin/response-schemas";
import { API_KEY_HEADER } from "../../tokens/words";

const API = "/admin/api/v1";
const STORAGE_KEY = "vm-console.api-key";

/** An answer of the management API other than 2xx, or no answer at all (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export const keyStore = {
  get(): string | null {
    try {
      return sessionStorage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  },
  set(key: string): void {
    sessionStorage.setItem(STORAGE_KEY, key);
  },
  clear(): void {
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // Storage disabled: nothing was stored.
    }
  },
};

function stringField(data: unknown, name: "message" | "error"): string | undefined {
  if (data === null || typeof data !== "object") return undefined;
  const value = (data as Record<string, unknown>)[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * One call to the management API with the stored key (`path` under /admin/api/v1). Resolves to
 * the parsed JSON (undefined for 204); rejects with an ApiError carrying the API's own message.
 */
export async function api<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T> {
  const key = keyStore.get();
  if (!key) throw new ApiError(401, "unauthorized", "Sign in with a management API key.");
  const headers: Record<string, string> = { [API_KEY_HEADER]: key, accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, "network", "Could not reach the management API: check the connection and try again.");
  }
  if (res.status === 204) return undefined as T;
  let data: unknown;
  try {
    data = await res.json();
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const message = stringField(data, "message") ?? `The management API answered ${res.status}; try again later.`;
    throw new ApiError(res.status, stringField(data, "error") ?? "error", message);
  }
  return data as T;
}

export const enc = (part: string) => encodeURIComponent(part);

/** Tiers by id; empty if they cannot be read (names are a nicety). */
export async function loadTiers(): Promise<Map<number, Tier>> {
  try {
    const tiers = await api<Tier[]>("GET", "/tiers");
    return new Map(tiers.map((t) => [t.id, t]));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    return new Map();
  }
}

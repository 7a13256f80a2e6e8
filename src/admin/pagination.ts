import type { Context } from "hono";
import { decodeBase64Url, encodeBase64Url } from "hono/utils/encode";
import { z } from "zod";
import { invalidRequest } from "../errors";

/**
 * Keyset pagination shared by every list. Answers stay plain JSON arrays — what the
 * VictoriaMetrics Cloud client decodes — and the next page is announced in headers:
 *
 *   Link: <https://…/admin/api/v1/deployments?limit=50&cursor=…>; rel="next"
 *   X-Next-Cursor: …
 *
 * Neither header is sent on the last page. The cursor is opaque to clients (base64url JSON of the
 * last row's sort key), so the order can change without breaking them.
 */

/** Unpadded base64url of the text's UTF-8 bytes. */
function toBase64Url(text: string): string {
  return encodeBase64Url(new TextEncoder().encode(text).slice().buffer).replace(/=+$/, "");
}

function fromBase64Url(text: string): string {
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(decodeBase64Url(text));
}

export function encodeCursor(position: unknown): string {
  return toBase64Url(JSON.stringify(position));
}

/** Decodes a cursor into the position `schema` describes, or refuses it as a 400 on `cursor`. */
export function decodeCursor<S extends z.ZodType>(cursor: string | undefined, schema: S): z.output<S> | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(fromBase64Url(cursor)));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through: not base64url, not UTF-8 or not JSON
  }
  throw invalidRequest("cursor", "is not a cursor this list issued; start again without it");
}

/** The (created_at, id) position most lists sort by. */
export const CreatedPosition = z.tuple([z.number().int(), z.string().max(64)]).transform(([created_at, id]) => ({ created_at, id }));

/**
 * Given up to `limit + 1` rows, returns the first `limit` and, when there were more, sets the
 * Link and X-Next-Cursor headers for the page after the last row returned.
 */
export function pageOf<T>(c: Context, rows: readonly T[], limit: number | undefined, position: (row: T) => unknown): T[] {
  if (limit === undefined || rows.length <= limit) return [...rows];
  const items = rows.slice(0, limit);
  const cursor = encodeCursor(position(items[items.length - 1]!));
  const next = new URL(c.req.url);
  next.searchParams.set("limit", String(limit));
  next.searchParams.set("cursor", cursor);
  c.header("link", `<${next.href}>; rel="next"`);
  c.header("x-next-cursor", cursor);
  return items;
}

/** The number of rows to ask the store for: one more than the page, to know whether one follows. */
export function rowsToFetch(limit: number | undefined): number | undefined {
  return limit === undefined ? undefined : limit + 1;
}

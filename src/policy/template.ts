/**
 * The tiny path-template language of the URL map. A template is a path whose segments are literals
 * or slots; a slot takes one segment, or with `+` one or more (last slot only):
 * - `{name}`: a free-form name (label, Graphite tag, pushgateway label) — the only slot that
 *   accepts percent-escapes (those canonical.ts lets through) and they must decode to UTF-8;
 * - `{word}`: letters, digits, `_` and `-`;
 * - `{file}`: a static asset name (letters, digits, `.`, `_`, `-`, `~`).
 * Captures keep the raw text as sent, so rendering another spelling forwards the names unchanged.
 */

type ParamKind = "name" | "word" | "file";
type ParamSlot = { kind: ParamKind; repeated: boolean };
export type Slot = { literal: string } | ParamSlot;

const SLOT_SEGMENT = {
  name: /^(?:[A-Za-z0-9\-._~!$&'()*+,=:@]|%[0-9A-Fa-f]{2})+$/,
  word: /^[A-Za-z0-9_-]+$/,
  file: /^[A-Za-z0-9._~-]+$/,
} as const;

export function compile(template: string): Slot[] {
  return template
    .slice(1)
    .split("/")
    .map((segment): Slot => {
      const param = /^\{(name|word|file)(\+?)\}$/.exec(segment);
      if (!param) return { literal: segment };
      return { kind: param[1] as ParamKind, repeated: param[2] === "+" };
    });
}

function fitsSlot(slot: ParamSlot, segment: string): boolean {
  if (!SLOT_SEGMENT[slot.kind].test(segment)) return false;
  return slot.kind !== "name" || decodes(segment);
}

/** Escaped names must decode to UTF-8 text: upstreams decode them and must see what we saw. */
function decodes(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

/** The captured raw text of each parameter slot, or undefined when the segments do not fit. */
export function matchSlots(slots: readonly Slot[], segments: readonly string[]): string[] | undefined {
  const captures: string[] = [];
  for (const [i, slot] of slots.entries()) {
    if ("literal" in slot) {
      if (segments[i] !== slot.literal) return undefined;
      continue;
    }
    const taken = slot.repeated ? segments.slice(i) : segments.slice(i, i + 1);
    if (taken.length === 0 || !taken.every((s) => fitsSlot(slot, s))) return undefined;
    captures.push(taken.join("/"));
    if (slot.repeated) return captures;
  }
  return segments.length === slots.length ? captures : undefined;
}

export function render(slots: readonly Slot[], captures: readonly string[]): string {
  let next = 0;
  return "/" + slots.map((slot) => ("literal" in slot ? slot.literal : captures[next++])).join("/");
}

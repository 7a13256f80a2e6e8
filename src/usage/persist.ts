import { UsageShipment } from "./batch";
import { ROW_PREFIX } from "./rows";
import { HOUR_MS, type RowWrites, type UsageState, loadState } from "./store";

/**
 * The storage side of usage in the token's Durable Object: validate a shipment, apply it, and
 * write exactly the rows store.ts says. Kept apart from token-limiter.ts (the limiter's own job).
 */

/** Storage `put`/`delete` take at most this many keys per call. */
const MAX_KEYS_PER_CALL = 128;

/** The shipment if it is well formed and names this object's token; undefined otherwise (the lease still answers). */
export function acceptShipment(input: unknown, tokenId: string | null): UsageShipment | undefined {
  if (input === undefined) return undefined;
  const parsed = UsageShipment.safeParse(input);
  if (!parsed.success || (tokenId !== null && parsed.data.tokenId !== tokenId)) return undefined;
  return parsed.data;
}

/** Writes the rows; puts and deletes in chunks the storage API accepts. */
export async function persistRows(storage: DurableObjectStorage, writes: RowWrites, extra: Record<string, unknown> = {}): Promise<void> {
  const puts: [string, unknown][] = [...Object.entries(extra), ...writes.put];
  for (let i = 0; i < puts.length; i += MAX_KEYS_PER_CALL) await storage.put(Object.fromEntries(puts.slice(i, i + MAX_KEYS_PER_CALL)));
  const deletes = [...writes.delete];
  for (let i = 0; i < deletes.length; i += MAX_KEYS_PER_CALL) await storage.delete(deletes.slice(i, i + MAX_KEYS_PER_CALL));
}

/** Reads every usage row back after a restart; rows that do not parse are logged and left out. */
export async function loadUsage(storage: DurableObjectStorage): Promise<UsageState> {
  const { state, invalid } = loadState(await storage.list({ prefix: ROW_PREFIX }));
  if (invalid.length > 0) console.error(JSON.stringify({ level: "error", msg: "usage rows not understood", keys: invalid.slice(0, 10) }));
  return state;
}

/** When the alarm should next prune (roll minutes into hours, drop old hours, forget isolates): the next hour, if anything is kept. */
export function nextPruneAt(state: UsageState, now: number): number | undefined {
  if (state.minutes.size === 0 && state.hours.size === 0 && state.seen.size === 0) return undefined;
  return Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS;
}

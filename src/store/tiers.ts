import { Tier, type TierRow } from "../tokens/tier";

export { Tier, type TierRow };

/** Rows of `tiers` (the shape: src/tokens/tier.ts). Seeded by the migration, read-only here. */
const COLUMNS = `id, name, type, cloud_provider, compute_cost_per_hour, access_token_concurrent_requests,
  access_token_limit, ingestion_rate, active_time_series, new_series_over_24h, datapoints_read_rate,
  series_read_per_query`;

export async function listTiers(db: D1Database): Promise<Tier[]> {
  const { results } = await db.prepare(`SELECT ${COLUMNS} FROM tiers ORDER BY type DESC, id`).all<Tier>();
  return results;
}

/** One tier with what only the Worker uses (the permit wait). */
export async function getTier(db: D1Database, id: number): Promise<TierRow | null> {
  return db.prepare(`SELECT ${COLUMNS}, access_token_max_wait_ms FROM tiers WHERE id = ?1`).bind(id).first<TierRow>();
}

import { z } from "zod";
import { DeploymentType } from "../tokens/vocabulary";

/** A row of `tiers`, which is also the JSON the management API returns for a tier. */
export const Tier = z.object({
  id: z.number().int(),
  name: z.string(),
  type: DeploymentType,
  cloud_provider: z.string(),
  compute_cost_per_hour: z.number(),
  access_token_concurrent_requests: z.number().int().positive(),
  access_token_limit: z.number().int().positive(),
  ingestion_rate: z.number().int(),
  active_time_series: z.number().int(),
  new_series_over_24h: z.number().int(),
  datapoints_read_rate: z.number().int(),
  series_read_per_query: z.number().int(),
});
export type Tier = z.infer<typeof Tier>;

const COLUMNS = `id, name, type, cloud_provider, compute_cost_per_hour, access_token_concurrent_requests,
  access_token_limit, ingestion_rate, active_time_series, new_series_over_24h, datapoints_read_rate,
  series_read_per_query`;

export async function listTiers(db: D1Database): Promise<Tier[]> {
  const { results } = await db.prepare(`SELECT ${COLUMNS} FROM tiers ORDER BY type DESC, id`).all<Tier>();
  return results;
}

export async function getTier(db: D1Database, id: number): Promise<Tier | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM tiers WHERE id = ?1`).bind(id).first<Tier>();
}

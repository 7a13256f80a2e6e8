import { z } from "zod";
import { DeploymentType } from "./vocabulary";

/**
 * A tier: the token limits a deployment gets (cap on live tokens, concurrent requests per token)
 * plus VictoriaMetrics Cloud's informative figures. A row of `tiers`, and the JSON the management
 * API returns for one.
 */
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

/**
 * A tier as the Worker uses it: the API's fields plus how long a request waits for a permit
 * before its 429 (ms; null: the Worker's PERMIT_MAX_WAIT_MS). The wait is not in the API's answer:
 * VictoriaMetrics Cloud's clients refuse fields they do not know.
 */
export type TierRow = Tier & { access_token_max_wait_ms: number | null };

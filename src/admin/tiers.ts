import { Hono } from "hono";
import { listTiers } from "../store/tiers";
import type { AdminEnv } from "./context";

/** GET /api/v1/tiers: every tier, in the shape of the VictoriaMetrics Cloud API. */
export const tiersApp = new Hono<AdminEnv>().get("/", async function listTiersRoute(c) {
  return c.json(await listTiers(c.env.DB));
});

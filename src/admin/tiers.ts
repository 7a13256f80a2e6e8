import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { listTiers } from "../store/tiers";
import type { AdminEnv } from "./context";
import { errors, jsonContent, PAGE_HEADERS } from "./openapi-common";
import { decodeCursor, pageOf } from "./pagination";
import { Tier } from "./response-schemas";
import { PageQuery } from "./schemas";

/** GET /api/v1/tiers: every tier, in the shape of the VictoriaMetrics Cloud API. */

export const listTiersRoute = createRoute({
  method: "get",
  path: "/",
  operationId: "listTiers",
  tags: ["tiers"],
  summary: "List tiers",
  description: "Tiers cap the number of access tokens per deployment and the concurrent requests per token. A plain array (VictoriaMetrics Cloud shape); pages with `limit`/`cursor`.",
  request: { query: PageQuery },
  responses: {
    200: { description: "Tiers, single-node first", headers: PAGE_HEADERS, content: jsonContent(z.array(Tier)) },
    ...errors(400),
  },
});

export const tiersApp = new OpenAPIHono<AdminEnv>().openapi(listTiersRoute, async function listTiersHandler(c) {
  const { limit, cursor } = c.req.valid("query");
  // Seven seeded rows: paged in memory, the cursor is the id of the last tier shown.
  const tiers = await listTiers(c.env.DB);
  // A cursor naming no tier is refused like any other foreign cursor.
  const after = decodeCursor(cursor, z.number().int().refine((id) => tiers.some((t) => t.id === id)));
  const start = after === undefined ? 0 : tiers.findIndex((t) => t.id === after) + 1;
  const rest = tiers.slice(start, limit === undefined ? undefined : start + limit + 1);
  return c.json(pageOf(c, rest, limit, (t) => t.id), 200);
});

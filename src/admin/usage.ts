import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { invalidRequest } from "../errors";
import type { TokenLimiter } from "../limiter/token-limiter";
import { listAccessTokens } from "../store/access-tokens";
import { type Deployment, listDeployments } from "../store/deployments";
import { findDeployment, findToken } from "../tokens";
import { CONTENT_TYPE, renderMetrics } from "../usage/prometheus";
import { parseUsageQuery, type UsageQuery } from "../usage/query";
import { DeploymentUsage, TokenUsage, deploymentUsage, tokenUsage } from "../usage/report";
import { recentMaxConcurrency, usageSeries } from "../usage/series";
import type { UsageState } from "../usage/store";
import type { AdminEnv } from "./context";
import { errors, jsonContent } from "./openapi-common";
import { DeploymentId } from "./schemas";

/**
 * Reading per-token usage (docs/usage.md): a token's series, a deployment's roll-up, and the
 * Prometheus exposition of `GET /admin/metrics`. Each reads the tokens' `TokenLimiter` objects,
 * which hold the `usage:*` rows; scoped by the API key like every token route.
 */

const DeploymentPath = z.object({ deploymentId: DeploymentId });
const TokenPath = DeploymentPath.extend({ tokenId: z.string().meta({ description: "Access token id" }) });
const UsageQueryParams = z.object({
  since: z.string().optional().meta({ description: "RFC 3339 with an offset; default `until` − 24 h, no earlier than 30 days ago." }),
  until: z.string().optional().meta({ description: "RFC 3339 with an offset; default now; at most 5 minutes ahead, within the last 30 days." }),
  step: z.string().optional().meta({ description: "One of 1m, 5m, 15m, 1h, 6h, 1d (under an hour only within the last 24 h); default: the shortest giving ≤ 300 points." }),
});
const tags = ["usage"];

const tokenUsageRoute = createRoute({
  method: "get",
  path: "/{deploymentId}/access_tokens/{tokenId}/usage",
  operationId: "accessTokenUsage",
  tags,
  summary: "Usage of an access token",
  description:
    "Requests by class and answer (the upstream's status class or our refusal reason), bytes, upstream latency quantiles, permit waits and the highest concurrency, per `step` from `since` to `until`, and the last use. Lags by up to a minute (counts are shipped from each isolate about once a minute). Revoked tokens included.",
  request: { params: TokenPath, query: UsageQueryParams },
  responses: {
    200: { description: "The token's usage", content: jsonContent(TokenUsage) },
    ...errors(400, 404),
  },
});

const deploymentUsageRoute = createRoute({
  method: "get",
  path: "/{deploymentId}/usage",
  operationId: "deploymentUsage",
  tags,
  summary: "Usage of a deployment",
  description: "The usage of the deployment's live tokens added up, per `step`, and each token's total over the range.",
  request: { params: DeploymentPath, query: UsageQueryParams },
  responses: {
    200: { description: "The deployment's usage", content: jsonContent(DeploymentUsage) },
    ...errors(400, 404),
  },
});

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  operationId: "usageMetrics",
  tags,
  summary: "Usage counters for Prometheus",
  description:
    "The usage counters of every live token of the deployments this API key may see, in the Prometheus text format 0.0.4 (labels deployment_id, token_id, token_description, class, code, reason), for vmagent or Prometheus to scrape with the key in X-VM-Cloud-Access. Reads each token's Durable Object once per scrape.",
  responses: {
    200: { description: "Prometheus text exposition", content: { "text/plain": { schema: z.string() } } },
    ...errors(),
  },
});

function queryOf(raw: { since?: string | undefined; until?: string | undefined; step?: string | undefined }): UsageQuery {
  const parsed = parseUsageQuery(raw, Date.now());
  if (!parsed.ok) throw invalidRequest(parsed.field, parsed.rule);
  return parsed.query;
}

/** A token's usage as its object keeps it (one call to the object). */
function usageOf(env: Env, tokenId: string): Promise<UsageState> {
  return (env.TOKEN_LIMITER as unknown as DurableObjectNamespace<TokenLimiter>).getByName(tokenId).usageRows() as Promise<UsageState>;
}

export const usageApp = new OpenAPIHono<AdminEnv>()
  .openapi(tokenUsageRoute, async function accessTokenUsageHandler(c) {
    const { deploymentId, tokenId } = c.req.valid("param");
    const q = queryOf(c.req.valid("query"));
    const { token } = await findToken(c.env, c.var.actor, deploymentId, tokenId);
    const state = await usageOf(c.env, token.id);
    return c.json(tokenUsage(q, usageSeries(state, q), state.last), 200);
  })

  .openapi(deploymentUsageRoute, async function deploymentUsageHandler(c) {
    const q = queryOf(c.req.valid("query"));
    const deployment = await findDeployment(c.env, c.var.actor, c.req.valid("param").deploymentId);
    const tokens = await listAccessTokens(c.env.DB, deployment.id);
    const states = await Promise.all(tokens.map((t) => usageOf(c.env, t.id)));
    const rows = tokens.map((t, i) => ({ tokenId: t.id, description: t.description, series: usageSeries(states[i]!, q), last: states[i]!.last }));
    return c.json(deploymentUsage(q, rows), 200);
  });

/** Mounted at the management root: `GET /admin/metrics`. */
export const metricsApp = new OpenAPIHono<AdminEnv>().openapi(metricsRoute, async function usageMetricsHandler(c) {
  const text = await metricsText(c.env, c.var.actor.deploymentIds);
  // c.text would set its own Content-Type; the exposition format needs its version parameter.
  return new Response(text, { status: 200, headers: { "content-type": CONTENT_TYPE } }) as never;
});

/**
 * `GET /admin/metrics`: the counters of every live token of every deployment the API key may
 * see, in the Prometheus text format. Reads each token's object once per scrape (see docs/usage.md
 * for the cost and the D1 copy that would avoid it).
 */
async function metricsText(env: Env, deploymentIds: readonly string[] | null): Promise<string> {
  const deployments: Deployment[] = await listDeployments(env.DB, deploymentIds as string[] | null, {});
  const now = Date.now();
  const perDeployment = await Promise.all(
    deployments.map(async (d) => {
      const tokens = await listAccessTokens(env.DB, d.id);
      return Promise.all(
        tokens.map(async (t) => {
          const state = await usageOf(env, t.id);
          return { deploymentId: d.id, tokenId: t.id, description: t.description, total: state.total, lastUsedAt: state.last?.at, recentMaxConcurrency: recentMaxConcurrency(state, now) };
        }),
      );
    }),
  );
  return renderMetrics(perDeployment.flat());
}

/**
 * The token domain: the management wing's vocabulary (vocabulary.ts, tenant-id.ts) and every
 * change to deployments and access tokens as a few named functions. Route handlers in src/admin
 * parse a request, call one of these, and render the answer; storage stays in src/store.
 */
export type { Actor, Caller } from "./actor";
export { type CreatedToken, createToken, type ListedToken, listTokens, type NewTokenInput, revealToken, revokeToken } from "./access-tokens";
export { createApiKey, findApiKey, type NewApiKey, revokeApiKey } from "./api-keys";
export { changeDeployment, type DeploymentChanges, deleteDeployment, type NewDeployment, registerDeployment } from "./deployments";
export { findDeployment, findToken } from "./find";
export { type RotatedToken, rotateToken } from "./rotation";
export { type ExplainInput, type Explanation, explainRequest } from "./explain";

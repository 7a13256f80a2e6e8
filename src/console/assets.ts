import { consoleClient } from "./client/console-client.js";

/**
 * /console/app.js: the client function's own source text, called once. Serving the function
 * rather than a string keeps the browser code a real, type-checked module
 * (client/console-client.js) without a front-end build step.
 *
 * The bundler may rewrite the function on the way: wrangler's esbuild runs with `keepNames`,
 * which inserts calls to its `__name(fn, "name")` helper inside function bodies. The helper lives
 * at the bundle's top level, outside the function, so the script defines a stand-in first
 * (names do not matter in the browser). test/browser runs the Worker exactly as wrangler bundles
 * it, so a bundler change that breaks this fails those tests.
 */
export const CONSOLE_SCRIPT = `"use strict";
var __name = function (target) { return target; };
(${consoleClient.toString()})();
`;

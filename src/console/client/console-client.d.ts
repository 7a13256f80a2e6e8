/**
 * The browser side of the console (console-client.js), as the Worker sees it: a function whose
 * source text is served as /console/app.js. Its body is type-checked against the DOM by
 * test/browser/tsconfig.json; the Worker's own program has no DOM types.
 */
export declare function consoleClient(): void;

import type { TestProject } from "vitest/node";
import { startLocalWorker } from "./worker.ts";

// One Worker for every CLI test file: bundling and starting workerd is the slow part.
export default async function setup(project: TestProject) {
  const worker = await startLocalWorker();
  project.provide("workerUrl", worker.url);
  project.provide("adminApiKey", worker.adminApiKey);
  return () => worker.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    workerUrl: string;
    adminApiKey: string;
  }
}

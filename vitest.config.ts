import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { buildConsole } from "./src/console/build.mjs";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("migrations");
  // The workerd pool imports src/ itself, not wrangler's bundle: it needs the console script built.
  await buildConsole();
  return {
    test: {
      projects: [
        {
          // The CLI (cli/) as child processes against the Worker run locally by miniflare.
          test: {
            name: "cli",
            include: ["test/cli/**/*.test.ts"],
            environment: "node",
            globalSetup: ["test/cli/global-setup.ts"],
            testTimeout: 30_000,
            hookTimeout: 90_000,
          },
        },
        {
          test: { name: "unit", include: ["test/unit/**/*.test.ts", "test/scripts/**/*.test.ts", "test/hardening/**/*.node.test.ts"], environment: "node" },
        },
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                cf: false,
                bindings: {
                  ADMIN_API_KEY: "test-admin-key",
                  TOKEN_ENCRYPTION_KEY: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                  TEST_MIGRATIONS: migrations,
                  // Small limits so the 413 and 504 paths are cheap to exercise.
                  MAX_BODY_BYTES: "1048576",
                  UPSTREAM_TIMEOUT_MS: "500",
                  // Requests past the limit wait less than the upstream timeout, so a test holding
                  // responses at the limit sees its 429 before those responses time out.
                  PERMIT_MAX_WAIT_MS: "200",
                },
              },
            }),
          ],
          test: { name: "worker", include: ["test/worker/**/*.test.ts", "test/hardening/**/*.worker.test.ts"], setupFiles: ["test/worker/setup.ts"] },
        },
      ],
    },
  };
});

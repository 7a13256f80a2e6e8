#!/usr/bin/env bash
# `npm test`: every test, on a fresh machine too. Runs under npm, so node_modules/.bin (with the
# pinned Node 24) is first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false

# Real components for the end-to-end suite come from Debian; a no-op when already installed.
bash test/e2e/install-deps.sh
# The console's browser tests use Debian's chromium (installed once, bounded).
command -v chromium >/dev/null 2>&1 || (export DEBIAN_FRONTEND=noninteractive; timeout 300 apt-get update -q && timeout 600 apt-get install -y -q chromium)

npm run typecheck
# The bundle `wrangler deploy` would upload builds offline (--dry-run); prints its size.
bash scripts/check-bundle.sh
# Pure policy in Node, everything touching bindings inside workerd.
vitest run
# Real vmagent, Prometheus, vmalert and VictoriaMetrics through the Worker in workerd.
vitest run --config vitest.e2e.config.ts
# The console in a real browser: headless chromium driven by playwright-core.
npm run test:browser

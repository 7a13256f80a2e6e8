#!/usr/bin/env bash
# The "Deploying to Cloudflare" section, as far as it goes offline: build the bundle
# `wrangler deploy` would upload (`--dry-run`: no account, no network) and print its size.
# Called by scripts/test.sh; run under npm (pinned Node first on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false CI="${CI:-1}" NO_COLOR=1

out=$(mktemp -d "${TMPDIR:-/tmp}/vmea-bundle.XXXXXX")
trap 'rm -rf "$out"' EXIT
if ! log=$(timeout 180 wrangler deploy --dry-run --outdir "$out" 2>&1); then
  echo "$log" >&2
  echo "check-bundle: wrangler deploy --dry-run failed" >&2
  exit 1
fi
[ -s "$out/index.js" ] || { echo "$log" >&2; echo "check-bundle: no index.js in $out" >&2; exit 1; }
bytes=$(wc -c < "$out/index.js")
gz=$(gzip -9 -c "$out/index.js" | wc -c)
echo "check-bundle: wrangler deploy --dry-run: index.js $bytes bytes, $gz bytes gzip -9 ($(echo "$log" | grep -m1 'Total Upload' | sed 's/^ *//'))"

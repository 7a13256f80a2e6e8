#!/usr/bin/env bash
# Install the real components the end-to-end suite starts: Debian's victoria-metrics
# (victoria-metrics, vmagent, vmalert, vmauth — 1.79.5) and prometheus (prometheus, promtool —
# 2.42), and jq, which the README's management walk-through pipes the CLI's --json through
# (test/e2e/readme.e2e.ts runs it). Idempotent: does nothing when every binary is already on PATH. Called by .ci/run.
set -euo pipefail

need=(victoria-metrics vmagent vmalert vmauth prometheus promtool jq)
missing=()
for bin in "${need[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "e2e deps: all present (${need[*]})"
  exit 0
fi
echo "e2e deps: missing ${missing[*]}; installing victoria-metrics, prometheus and jq"

sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
# Bounded: a stuck mirror must not hang CI.
timeout 300 "${sudo[@]}" apt-get update -q
# --no-install-recommends: prometheus recommends node-exporter and friends, not needed here.
timeout 600 "${sudo[@]}" apt-get install -y -q --no-install-recommends victoria-metrics prometheus jq

# The packages enable systemd units; where systemd runs (not in CI containers), keep them from
# holding the default ports the suite never uses anyway.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${sudo[@]}" systemctl disable --now victoria-metrics prometheus >/dev/null 2>&1 || true
fi

for bin in "${need[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || { echo "e2e deps: $bin still missing after install" >&2; exit 1; }
done
echo "e2e deps: installed"

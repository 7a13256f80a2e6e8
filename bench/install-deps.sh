#!/usr/bin/env bash
# What `npm run bench` needs besides node_modules: wrk (the load generator) and Debian's
# victoria-metrics package (victoria-metrics and vmauth 1.79.5). Idempotent: does nothing when
# every binary is already on PATH.
set -euo pipefail

need=(wrk victoria-metrics vmauth)
missing=()
for bin in "${need[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "bench deps: all present (${need[*]})"
  exit 0
fi
echo "bench deps: missing ${missing[*]}; installing wrk and victoria-metrics"

sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
# Bounded: a stuck mirror must not hang the run.
timeout 300 "${sudo[@]}" apt-get update -q
timeout 600 "${sudo[@]}" apt-get install -y -q --no-install-recommends wrk victoria-metrics

# The package enables a systemd unit; where systemd runs, keep it off the default port.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${sudo[@]}" systemctl disable --now victoria-metrics >/dev/null 2>&1 || true
fi

for bin in "${need[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || { echo "bench deps: $bin still missing after install" >&2; exit 1; }
done
echo "bench deps: installed"

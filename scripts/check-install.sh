#!/usr/bin/env bash
# After a fresh `npm ci`: the binaries the README's two commands need came with it. Install
# scripts of dependencies run only when package.json's allowScripts names them (npm 11); `node`
# (the pinned Node), `workerd` and `esbuild` download their binaries in theirs. Called by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# The workerd launcher is a JS file until its postinstall swaps in the native binary.
export PATH="$PWD/node_modules/.bin:$PATH"

fail() { echo "check-install: $*" >&2; exit 1; }

# The pinned Node: wrangler and vitest need >= 22.12.
version=$(node_modules/.bin/node --version) || fail "node_modules/.bin/node does not run (was its preinstall skipped?)"
node_modules/.bin/node -e '
  const [major, minor] = process.versions.node.split(".").map(Number);
  process.exit(major > 22 || (major === 22 && minor >= 12) ? 0 : 1);
' || fail "node_modules/.bin/node is $version; wrangler and vitest need >= 22.12"
echo "check-install: pinned Node $version"

# Every workerd in the tree (wrangler's own and miniflare's may differ) runs, and its postinstall
# ran: it replaces the JS launcher (a `#!` script) with the native binary for this platform.
# esbuild's postinstall does the same for bin/esbuild.
native() { [ "$(head -c 2 "$1")" != "#!" ] || fail "$1 is still the JS launcher: its postinstall did not run (allowScripts?)"; }
found=0
while IFS= read -r launcher; do
  found=1
  out=$("$launcher" --version 2>&1) || fail "$launcher does not run: $out"
  native "$launcher"
  echo "check-install: $launcher: $out"
done < <(find node_modules/ -path '*node_modules/workerd/bin/workerd' -type f | sort)
[ "$found" -eq 1 ] || fail "no workerd package under node_modules"

out=$(node_modules/.bin/esbuild --version 2>&1) || fail "esbuild does not run: $out"
native "$(readlink -f node_modules/.bin/esbuild)"
echo "check-install: esbuild $out"

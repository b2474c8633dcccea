#!/usr/bin/env bash
# End-to-end test of the SPA example: @okta/okta-auth-js in headless Chromium signs in against the
# embedded mock Okta and calls the tower-okta-protected API, with Bearer tokens and with DPoP-bound
# tokens and proofs (examples/spa/e2e/spa.test.js); and the server-rendered Web Application example
# (backend-for-frontend: session cookie, silent refresh, CSRF, sign-out) in the same browser
# (examples/spa/e2e/web_app.test.js).
#
# Installs what it needs on a fresh Debian machine: Debian's chromium (if /usr/bin/chromium is
# missing), the npm packages (npm ci, no browser download), the bundle; builds the example; runs
# `node --test`. Exits non-zero on failure and prints the elapsed time.
#
#   examples/spa/e2e/run.sh                       # from anywhere
#   UPDATE_SCREENSHOT=1 examples/spa/e2e/run.sh   # also rewrites docs/spa-signed-in.png
set -euo pipefail
start=$(date +%s)
spa_dir="$(cd "$(dirname "$0")/.." && pwd)"
crate_root="$(cd "$spa_dir/../.." && pwd)"
cd "$crate_root"

finish() {
  local rc=$?
  echo "== spa and web_app e2e: $([ "$rc" -eq 0 ] && echo passed || echo "FAILED ($rc)") in $(( $(date +%s) - start )) s"
}
trap finish EXIT

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian's chromium"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null || true

echo "== npm ci (examples/spa)"
export PUPPETEER_SKIP_DOWNLOAD=1
npm --prefix "$spa_dir" ci --no-audit --no-fund --loglevel=error

echo "== bundle"
npm --prefix "$spa_dir" run --silent build

echo "== cargo build --all-features --example spa"
# --all-features: the same build as `cargo test --all-features`, so CI compiles it once.
cargo build --quiet --all-features --example spa
target_dir="$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
export SPA_EXAMPLE_BIN="$target_dir/debug/examples/spa"

echo "== cargo build --all-features --example web_app"
cargo build --quiet --all-features --example web_app
export WEB_APP_EXAMPLE_BIN="$target_dir/debug/examples/web_app"

echo "== node --test"
# One file at a time: each starts its own Chromium and example servers.
node --test --test-concurrency=1 --test-reporter=spec \
  "$spa_dir/e2e/spa.test.js" "$spa_dir/e2e/web_app.test.js"

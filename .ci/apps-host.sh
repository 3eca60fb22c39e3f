#!/usr/bin/env bash
# Install what the MCP Apps browser test (tests/test_apps_browser.py) drives, pinned, into .ci/apps-host/ (a
# cache inside the repo, ignored by git), bundle the official host-side bridge for the browser, and print the
# directory. Re-running is a no-op when it is installed.
#   @modelcontextprotocol/ext-apps: the App protocol's official host side (AppBridge, PostMessageTransport)
#   playwright-core: drives Debian's chromium (no browser download: the test names /usr/bin/chromium)
#   esbuild: bundles AppBridge and its imports into one browser module (the host page loads it from disk)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="$HERE/apps-host"
EXT_APPS=2.0.4 PLAYWRIGHT=1.65.2 ESBUILD=0.28.2
STAMP="$DIR/.installed-$EXT_APPS-$PLAYWRIGHT-$ESBUILD"
BUNDLE="$DIR/app-bridge.bundle.js"

if [[ -f "$STAMP" && -f "$BUNDLE" ]]; then
  echo "$DIR"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "apps-host: npm is not installed" >&2; exit 3; }
mkdir -p "$DIR"
printf '*\n' > "$DIR/.gitignore"
[[ -f "$DIR/package.json" ]] || printf '{\n  "name": "veeam-em-mcp-ci-apps-host",\n  "private": true\n}\n' > "$DIR/package.json"
# --ignore-scripts: esbuild's postinstall only swaps its JS launcher for the native binary; its JS API finds the
# platform package (@esbuild/linux-x64, an optional dependency npm installs) without it.
npm install --prefix "$DIR" --no-fund --no-audit --no-save --ignore-scripts --loglevel=error \
  "@modelcontextprotocol/ext-apps@$EXT_APPS" "playwright-core@$PLAYWRIGHT" "esbuild@$ESBUILD" >&2
printf 'export { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";\n' > "$DIR/entry.mjs"
(cd "$DIR" && node -e '
require("esbuild").build({entryPoints: ["entry.mjs"], bundle: true, format: "esm", platform: "browser",
  outfile: "app-bridge.bundle.js", logLevel: "error"}).catch(() => process.exit(1));
') >&2
[[ -f "$BUNDLE" ]] || { echo "apps-host: $BUNDLE missing after the build" >&2; exit 4; }
touch "$STAMP"
echo "$DIR"

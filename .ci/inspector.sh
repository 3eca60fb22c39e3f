#!/usr/bin/env bash
# Install the MCP Inspector CLI, pinned, into .ci/node/ (a cache inside the repo, ignored by git)
# and print the path of its `mcp-inspector` binary. Re-running is a no-op when it is installed.
# tests/test_inspector.py calls this; run it by hand to try the Inspector commands in the README.
set -euo pipefail
VERSION="2.12.0"
HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="$HERE/node"
BIN="$DIR/node_modules/.bin/mcp-inspector"
STAMP="$DIR/.installed-$VERSION"

if [[ -x "$BIN" && -f "$STAMP" ]]; then
  echo "$BIN"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "inspector.sh: npm is not installed" >&2; exit 3; }

mkdir -p "$DIR"
# Everything in .ci/node/ is a download cache: keep it out of git without touching .gitignore.
printf '*\n' > "$DIR/.gitignore"
if [[ ! -f "$DIR/package.json" ]]; then
  printf '{\n  "name": "veeam-em-mcp-ci-inspector",\n  "private": true\n}\n' > "$DIR/package.json"
fi
# --ignore-scripts: the package's postinstall only matters for its web UI; the CLI works without it.
npm install --prefix "$DIR" --no-fund --no-audit --no-save --ignore-scripts --loglevel=error \
  "@modelcontextprotocol/inspector@$VERSION" >&2
[[ -x "$BIN" ]] || { echo "inspector.sh: $BIN missing after npm install" >&2; exit 4; }
touch "$STAMP"
echo "$BIN"

#!/usr/bin/env bash
# Install the MCP Bundle CLI (@anthropic-ai/mcpb), pinned, into .ci/mcpb/ (a cache inside the repo, ignored by
# git) and print the path of its `mcpb` binary. Re-running is a no-op when it is installed.
# bundle/build.sh and tests/test_bundle.py call this.
set -euo pipefail
VERSION="2.1.2"
HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="$HERE/mcpb"
BIN="$DIR/node_modules/.bin/mcpb"
STAMP="$DIR/.installed-$VERSION"

if [[ -x "$BIN" && -f "$STAMP" ]]; then
  echo "$BIN"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "mcpb.sh: npm is not installed" >&2; exit 3; }

mkdir -p "$DIR"
# Everything in .ci/mcpb/ is a download cache: keep it out of git without touching .gitignore.
printf '*\n' > "$DIR/.gitignore"
if [[ ! -f "$DIR/package.json" ]]; then
  printf '{\n  "name": "veeam-em-mcp-ci-mcpb",\n  "private": true\n}\n' > "$DIR/package.json"
fi
npm install --prefix "$DIR" --no-fund --no-audit --no-save --ignore-scripts --loglevel=error \
  "@anthropic-ai/mcpb@$VERSION" >&2
[[ -x "$BIN" ]] || { echo "mcpb.sh: $BIN missing after npm install" >&2; exit 4; }
touch "$STAMP"
echo "$BIN"

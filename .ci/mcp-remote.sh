#!/usr/bin/env bash
# Install mcp-remote (the stdio-to-HTTP bridge of the README's Claude Desktop recipe), pinned, into
# .ci/node-mcp-remote/ (a cache inside the repo, ignored by git) and print the path of its
# `mcp-remote` binary. Re-running is a no-op when it is installed. It needs Node >= 20.18.1 (its
# undici 7 dependency says so; mcp-remote itself declares no engine).
# tests/test_http_mcp_remote.py calls this; run it by hand to try the README's recipe.
set -euo pipefail
VERSION="0.15.1"
HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="$HERE/node-mcp-remote"
BIN="$DIR/node_modules/.bin/mcp-remote"
STAMP="$DIR/.installed-$VERSION"

if [[ -x "$BIN" && -f "$STAMP" ]]; then
  echo "$BIN"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "mcp-remote.sh: npm is not installed" >&2; exit 3; }

mkdir -p "$DIR"
# Everything in .ci/node-mcp-remote/ is a download cache: keep it out of git without touching .gitignore.
printf '*\n' > "$DIR/.gitignore"
if [[ ! -f "$DIR/package.json" ]]; then
  printf '{\n  "name": "veeam-em-mcp-ci-mcp-remote",\n  "private": true\n}\n' > "$DIR/package.json"
fi
npm install --prefix "$DIR" --no-fund --no-audit --no-save --ignore-scripts --loglevel=error \
  "mcp-remote@$VERSION" >&2
[[ -x "$BIN" ]] || { echo "mcp-remote.sh: $BIN missing after npm install" >&2; exit 4; }
touch "$STAMP"
echo "$BIN"

#!/usr/bin/env bash
# Install one npm package at a pinned version into a cache directory inside the repo (ignored by git)
# and print the path of one of its binaries; a no-op when that version is installed. The scripts next to
# this one (inspector.sh, mcp-remote.sh, mcpb.sh) each name their package, version and directory here.
#   npm-pinned.sh DIR PACKAGE VERSION BINARY
set -euo pipefail
DIR="$1" PACKAGE="$2" VERSION="$3" NAME="$4"
BIN="$DIR/node_modules/.bin/$NAME"
STAMP="$DIR/.installed-$VERSION"

if [[ -x "$BIN" && -f "$STAMP" ]]; then
  echo "$BIN"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "$NAME: npm is not installed" >&2; exit 3; }

mkdir -p "$DIR"
# Everything in DIR is a download cache: keep it out of git without touching .gitignore.
printf '*\n' > "$DIR/.gitignore"
if [[ ! -f "$DIR/package.json" ]]; then
  printf '{\n  "name": "veeam-em-mcp-ci-%s",\n  "private": true\n}\n' "$NAME" > "$DIR/package.json"
fi
# --ignore-scripts: no install script of these packages matters to the CLIs the tests use.
npm install --prefix "$DIR" --no-fund --no-audit --no-save --ignore-scripts --loglevel=error \
  "$PACKAGE@$VERSION" >&2
[[ -x "$BIN" ]] || { echo "$NAME: $BIN missing after npm install" >&2; exit 4; }
touch "$STAMP"
echo "$BIN"

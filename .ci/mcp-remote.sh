#!/usr/bin/env bash
# Install mcp-remote (the stdio-to-HTTP bridge of the README's Claude Desktop recipe), pinned, into
# .ci/node-mcp-remote/ (a cache inside the repo, ignored by git) and print the path of its
# `mcp-remote` binary. Re-running is a no-op when it is installed. It needs Node >= 20.18.1 (its
# undici 7 dependency says so; mcp-remote itself declares no engine).
# tests/test_http_mcp_remote.py calls this; run it by hand to try the README's recipe.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
exec bash "$HERE/npm-pinned.sh" "$HERE/node-mcp-remote" "mcp-remote" "0.15.1" mcp-remote

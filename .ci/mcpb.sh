#!/usr/bin/env bash
# Install the MCP Bundle CLI (@anthropic-ai/mcpb), pinned, into .ci/mcpb/ (a cache inside the repo, ignored
# by git) and print the path of its `mcpb` binary. Re-running is a no-op when it is installed.
# bundle/build.py calls this (tests/test_bundle.py through it); run it by hand to inspect a bundle.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
exec bash "$HERE/npm-pinned.sh" "$HERE/mcpb" "@anthropic-ai/mcpb" "2.1.2" mcpb

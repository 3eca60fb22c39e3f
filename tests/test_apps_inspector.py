"""The views as a client nobody here wrote finds them: the MCP Inspector CLI's ``--app-info`` (npm, pinned in
.ci/inspector.sh) against the real ``veeam-em-mcp serve --demo`` over stdio, in both protocol eras.

It reads each tool's ``_meta.ui.resourceUri`` and then the resource itself: ``hasApp: true`` with the extension's
MIME type for exactly the tools that have a view, ``hasApp: false`` for the others.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from veeam_em_mcp.surface.apps import APP_MIME_TYPE, VIEWS

from .http_server import console_script
from .test_inspector import inspector, inspector_env

__all__ = ["inspector", "inspector_env"]  # the fixtures, shared with test_inspector


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_the_inspector_reports_an_app_for_each_tool_with_a_view(
    inspector: str, inspector_env: dict[str, str], era: str
) -> None:
    command = [inspector, "--cli", "-q", "--protocol-era", era, *console_script(), "serve", "--demo",
               "--method", "tools/list", "--app-info"]
    result = subprocess.run(command, env=inspector_env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    infos = {info["toolName"]: info for info in map(json.loads, result.stdout.splitlines())}
    assert len(infos) >= 10, infos
    views = {view.tool: view.uri for view in VIEWS}
    for name, info in infos.items():
        if name in views:
            assert info["hasApp"] is True, info
            assert info["resourceUri"] == views[name]
            assert info["resourceMimeType"] == APP_MIME_TYPE
            assert "resourceError" not in info
        else:
            assert info["hasApp"] is False, info

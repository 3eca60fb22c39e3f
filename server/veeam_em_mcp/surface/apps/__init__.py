"""MCP Apps views (extension ``io.modelcontextprotocol/ui``): HTML a host draws beside a tool's result.

Each view is one self-contained HTML file in this package (script and style inlined: no network, nothing
fetched), served as a ``ui://`` resource with the extension's MIME type, and tied to the tool whose result it
draws through the tool's ``_meta.ui.resourceUri``. The tool's result is unchanged, view or not: its structured
content stays what the model reads, and the view is for the person. A host without the extension never reads
the resource and ignores the ``_meta`` key, so it gets exactly the results it got before views existed.

A view that needs more rows asks the host to call the same tool with the result's ``next_cursor`` (the App
protocol's ``tools/call``), as a model would, rather than the server embedding everything in one result.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from mcp.server.apps import APP_MIME_TYPE, Apps

__all__ = ["APP_MIME_TYPE", "VIEWS", "View", "extension", "html", "tool_meta"]


@dataclass(frozen=True)
class View:
    tool: str  # the tool whose result it draws
    file: str  # in this package
    title: str
    description: str

    @property
    def uri(self) -> str:
        return f"ui://veeam-em/{self.file}"


VIEWS: tuple[View, ...] = (
    View(
        "protection_report",
        "protection-report.html",
        "Protection report view",
        "Every VM as a cell coloured by its RPO state, grouped by job or backup server, filterable.",
    ),
    View(
        "find_job_sessions",
        "job-runs.html",
        "Job runs view",
        "A timeline of the job runs in the window, coloured by outcome; a run's VMs and EM's reasons on a click.",
    ),
    View(
        "list_repositories",
        "repositories.html",
        "Repositories view",
        "A capacity bar per repository with its free space; unknown sizes shown as unknown, nearly full ones marked.",
    ),
    View(
        "vm_recovery_summary",
        "vm-recovery.html",
        "VM recovery view",
        "The VM's restore points on a time axis, the chain a restore of the newest point needs highlighted.",
    ),
)
_BY_TOOL = {view.tool: view for view in VIEWS}


# Every view's shared style and App protocol, inlined where the view has the marker: one source, and each view
# served as one self-contained document.
SHARED = {"/*@base*/": "_base.css", "//@app": "_app.js"}


def html(view: View) -> str:
    package = files(__package__)
    text = package.joinpath(view.file).read_text(encoding="utf-8")
    for marker, name in SHARED.items():
        text = text.replace(marker, package.joinpath(name).read_text(encoding="utf-8"), 1)
    return text


def tool_meta(tool: str) -> dict[str, Any] | None:
    """The ``_meta`` of ``tool`` in ``tools/list``: its view's URI, or nothing for a tool without a view."""
    view = _BY_TOOL.get(tool)
    return {"ui": {"resourceUri": view.uri}} if view else None


def extension() -> Apps:
    """The extension, with every view as a ``ui://`` resource; ``MCPServer(extensions=[...])`` advertises it."""
    apps = Apps()
    for view in VIEWS:
        apps.add_html_resource(
            view.uri, html(view), name=view.file.removesuffix(".html"), title=view.title, description=view.description
        )
    return apps

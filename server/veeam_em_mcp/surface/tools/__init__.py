"""The MCP tools, one module per family; ``ALL_TOOLS`` is what the server registers, in this order."""

from __future__ import annotations

from . import diagnostics, estate, inventory, links, restore_points
from ._registration import ToolSpec

ALL_TOOLS: tuple[ToolSpec, ...] = (
    *restore_points.TOOLS, *estate.TOOLS, *inventory.TOOLS, *links.TOOLS, *diagnostics.TOOLS
)

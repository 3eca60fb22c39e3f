"""The coverage phase's working state: the finished normal build it adds to, the tables it fills, the window."""

from __future__ import annotations

from ..builder import Builder
from ..clock import TICKS_PER_DAY
from ..coverage_records import CoverageData


class Coverage:
    """The coverage phase over a finished `Builder` (its dicts receive the items of shared types)."""

    def __init__(self, b: Builder) -> None:
        self.b = b
        self.g = b.g
        self.data = CoverageData()
        self.window_start = b.anchor_ticks - b.days * TICKS_PER_DAY

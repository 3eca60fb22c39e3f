"""How big an answer may be, measured the way the model will read it.

Every tool result is JSON text in the model's context, bounded by ``VEEAM_MCP_MAX_RESULT_CHARS``. The
text is compact JSON with absent values left out and hrefs on the EM origin made relative (both
lossless: ``follow_link`` takes ``/api/…`` paths as they are), behind a banner in demo mode. Services
that return lists measure with the same rendering the surface sends, so what fits here fits there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from pydantic import BaseModel

from ..config import Settings

DEMO_BANNER = (
    "DEMO DATA: this answer comes from the embedded Enterprise Manager simulator started with --demo, "
    "not from a real backup infrastructure."
)

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ResultBudget:
    """The size limit of a result and the rendering it is measured in."""

    max_chars: int
    origin: str
    demo: bool = False

    @classmethod
    def of(cls, settings: Settings) -> ResultBudget:
        return cls(settings.max_result_chars, settings.origin, settings.demo)

    def json(self, model: BaseModel) -> str:
        """Compact JSON, absent values left out, EM paths relative (serialised once, in pydantic's core).

        Every string that is a URL on the configured EM origin under ``/api/`` becomes the bare path: links,
        ``collections`` entries and hrefs alike (a sentence that mentions such a URL is left as it is).
        """
        return self._absolute.sub(r'"\1"', model.model_dump_json(exclude_none=True))

    @cached_property
    def _absolute(self) -> re.Pattern[str]:
        return re.compile('"' + re.escape(self.origin) + r'(/api/[^"\s\\]*)"')

    def mirror(self, json_text: str) -> str:
        """The text block sent beside ``structuredContent``: the JSON, labelled in demo mode."""
        return f"{DEMO_BANNER}\n{json_text}" if self.demo else json_text

    def size(self, model: BaseModel) -> int:
        return len(self.mirror(self.json(model)))

    def fits(self, model: BaseModel) -> bool:
        return self.size(model) <= self.max_chars

    def longest_fitting(self, count: int, build: Callable[[int], M]) -> M:
        """``build(count)`` when it fits, else ``build(k)`` for the largest ``k`` that does.

        ``build(k)`` is the result holding the first ``k`` items of a list, saying what it left out; a
        binary search, since a result grows with ``k`` but not by a fixed amount per item.
        """
        full = build(count)
        if self.fits(full):
            return full
        low, high = 0, count - 1
        while low < high:
            mid = (low + high + 1) // 2
            if self.fits(build(mid)):
                low = mid
            else:
                high = mid - 1
        return build(low)

"""Every item whose field is one of a long list of values: several window reads, so that no URL grows long.

Apart from the reader (``querying``) because it is a read over reads: it cuts the values into OR filters of
``ANY_OF_CHUNK`` (``query_terms.any_of``), reads each as one window (``querying.read_all``) and merges them,
each item once.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..models.resources import Entity
from .context import EmContext
from .query_terms import NEWEST_FIRST, Sort, any_of, conditions
from .querying import QueryWindow, read_all

ANY_OF_CHUNK = 15  # values per OR filter: EM's URL stays short (a UID is ~60 characters, quoted and encoded)


async def read_any_of(
    em: EmContext,
    em_type: str,
    field: str,
    values: Sequence[str],
    *,
    also: str | None = None,
    sort: Sort = NEWEST_FIRST,
    page_size: int | None = None,
) -> QueryWindow[Entity]:
    """Every item whose ``field`` is one of ``values`` (and matching ``also``): one read per ``ANY_OF_CHUNK``
    values, so that a long list of ids never makes a URL a server or a proxy in front of it refuses."""
    unique = list(dict.fromkeys(values))
    items: list[Entity] = []
    seen: set[str] = set()
    requests, complete, issues = 0, True, []
    for start in range(0, len(unique), ANY_OF_CHUNK):
        part = await read_all(em, em_type, filter=conditions(any_of(field, unique[start : start + ANY_OF_CHUNK]), also),
                              sort=sort, page_size=page_size)
        requests += part.requests
        complete = complete and part.complete
        if part.issue:
            issues.append(part.issue)
        for item in part.items:
            key = item.id or str(id(item))
            if key not in seen:
                seen.add(key)
                items.append(item)
    return QueryWindow(items, requests, complete=complete, total=len(items) if complete else None,
                  issue=" ".join(issues) or None)

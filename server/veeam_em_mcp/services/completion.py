"""VM-name completion for ``vm_name`` arguments, from EM's query service, cheap per keystroke.

EM's query filter has no wildcard, LIKE or "starts with" operator (only == != < > <= >=), so a prefix
cannot be asked for directly. Two practical sources instead:

1. the newest ``NAME_SAMPLE_POINTS`` restore points (one query, References format, sorted by creation
   time): every VM backed up recently is in it; cached for ``NAME_CACHE_SECONDS``;
2. when that sample has few matches, a range query ``VmName>="<prefix>"`` sorted by VmName. EM
   documents the comparison operators but not how they order strings; it works on the simulator
   (case-insensitive, like EM's SQL collation), and if a real EM rejects it (400) it is not tried again.

A person types one character at a time, so a range answer is reused for every longer prefix it fully
covers, and range queries are rate-limited: a burst of unrelated prefixes costs a bounded number of EM
queries. Completion is a convenience: a failure yields no suggestions, never an error.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..client import EnterpriseManagerClient
from ..errors import BadRequest
from ..representation.parse import Document
from ..representation.query import query_refs, query_url, quote_value, read_paging

log = logging.getLogger("veeam_em_mcp.completion")

NAME_SAMPLE_POINTS = 1000  # newest points sampled for names
NAME_CACHE_SECONDS = 300.0  # how long the sample and range answers are trusted
NAME_RANGE_POINTS = 500  # points per range query: sorted by name, so several VMs' worth
MAX_COMPLETIONS = 100  # the MCP spec caps a completion answer at 100 values
MAX_PREFIX_CHARS = 128  # longer than any VM name EM knows: nothing to complete, nothing asked
RANGE_QUERIES_PER_MINUTE = 10  # a burst of unrelated prefixes costs at most this many EM queries
_POINT_NAME = re.compile(r"^(?P<vm>.+)@\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")



@dataclass(frozen=True)
class NameMatches:
    """The names to suggest (at most ``MAX_COMPLETIONS``) and how many matched in all."""

    values: list[str]
    total: int

    @property
    def has_more(self) -> bool:
        return self.total > len(self.values)


NO_MATCHES = NameMatches([], 0)


@dataclass
class _Range:
    """A range answer: the names at or after ``prefix``, and whether it holds every name starting with it."""

    at: float
    names: set[str]
    covers_prefix: bool


@dataclass
class VmNameIndex:
    """VM names EM has restore points for, sampled from the newest points and cached briefly."""

    clock: Callable[[], float] = time.monotonic
    names: list[str] = field(default_factory=list)
    fetched_at: float | None = None
    sample_is_complete: bool = False  # the sample held every restore point: nothing else to find
    range_queries_work: bool = True
    ranges: dict[str, _Range] = field(default_factory=dict)
    range_times: list[float] = field(default_factory=list)

    async def refresh(self, client: EnterpriseManagerClient, base_url: str) -> None:
        now = self.clock()
        if self.fetched_at is not None and now - self.fetched_at < NAME_CACHE_SECONDS:
            return
        url = query_url(
            base_url,
            "VmRestorePoint",
            format="References",
            sort=("desc", "CreationTime"),
            page_size=NAME_SAMPLE_POINTS,
        )
        doc = await client.get(url)
        self.names = sorted(_vm_names(doc), key=str.casefold)
        self.sample_is_complete = read_paging(doc).pages_count <= 1
        self.fetched_at = now
        self.ranges.clear()

    def _covered(self, wanted: str, now: float) -> set[str] | None:
        """Names for ``wanted`` from a cached range answer of it or of a shorter prefix that covers it."""
        for length in range(len(wanted), 0, -1):
            cached = self.ranges.get(wanted[:length])
            if cached is None or now - cached.at >= NAME_CACHE_SECONDS:
                continue
            if length == len(wanted) or cached.covers_prefix:
                return cached.names
        return None

    async def by_range(self, client: EnterpriseManagerClient, base_url: str, prefix: str) -> set[str]:
        if not self.range_queries_work or not prefix or self.sample_is_complete:
            return set()
        now = self.clock()
        wanted = prefix.casefold()
        covered = self._covered(wanted, now)
        if covered is not None:
            return covered
        self.range_times = [t for t in self.range_times if now - t < 60]
        if len(self.range_times) >= RANGE_QUERIES_PER_MINUTE:
            return set()  # a burst: complete from the sample until the minute has passed
        self.range_times.append(now)
        url = query_url(
            base_url,
            "VmRestorePoint",
            filter=f"VmName>={quote_value(prefix)}",
            format="References",
            sort=("asc", "VmName"),
            page_size=NAME_RANGE_POINTS,
        )
        try:
            doc = await client.get(url)
        except BadRequest:
            log.info("EM rejected a VmName range query; completing from the cached sample only")
            self.range_queries_work = False
            return set()
        found = _vm_names(doc)
        # Sorted by name from the prefix on: when the last name no longer starts with the prefix (or the
        # answer is the only page), every name that does is in it, so longer prefixes need no query.
        ordered = sorted(found, key=str.casefold)
        covers = read_paging(doc).pages_count <= 1 or (bool(ordered) and not ordered[-1].casefold().startswith(wanted))
        if len(self.ranges) >= 256:
            self.ranges.clear()
        self.ranges[wanted] = _Range(now, found, covers)
        return found

    async def complete(self, client: EnterpriseManagerClient, base_url: str, prefix: str) -> NameMatches:
        if len(prefix) > MAX_PREFIX_CHARS or not _encodable(prefix):
            return NO_MATCHES
        await self.refresh(client, base_url)
        wanted = prefix.casefold()
        found = {name for name in self.names if name.casefold().startswith(wanted)}
        if len(found) < 10:
            found |= {n for n in await self.by_range(client, base_url, prefix) if n.casefold().startswith(wanted)}
        ordered = sorted(found, key=str.casefold)
        return NameMatches(ordered[:MAX_COMPLETIONS], len(ordered))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _vm_names(doc: Document) -> set[str]:
    items = query_refs(doc)
    if not items:  # Entities format, or a differently wrapped answer
        entities = doc.data.get("entities")
        listed = entities.get("vm_restore_points") if isinstance(entities, dict) else None
        items = [item for item in listed or [] if isinstance(item, dict)] if isinstance(listed, list) else []
    names: set[str] = set()
    for item in items:
        name = item.get("vm_name") or item.get("vm_display_name")
        if not name and isinstance(item.get("name"), str):
            # References carry only Name="<vm>@<yyyy-mm-dd hh:mm:ss>"; the VM is what precedes the time.
            match = _POINT_NAME.match(item["name"])
            name = match.group("vm") if match else None
        if isinstance(name, str) and name.strip():
            names.add(name)
    return names


async def complete_vm_name(
    index: VmNameIndex, client: EnterpriseManagerClient, base_url: str, prefix: str
) -> NameMatches:
    """Suggestions for a ``vm_name`` argument; any failure is logged once and answered with none."""
    try:
        return await index.complete(client, base_url, prefix)
    except Exception as exc:  # a completion must never fail the request
        log.warning("vm_name completion failed: %s: %s", type(exc).__name__, exc)
        return NO_MATCHES

"""What the estate operations share: outcomes, time windows, names that must exist, and paged rows.

- An outcome is never guessed: a run EM has not finished is ``running``, whatever its Result says.
- A window defaults to the last 24 hours ("last night"); a window that ends before it starts is refused
  before any request.
- A job or VM name that matches nothing is checked once more, cheaply: when EM does not know the name at
  all, the error says so and names the nearest names EM does know.
- Rows computed over a whole window are handed out a page at a time (as many as fit the result size
  limit, measured once each), with a cursor that carries the question and the window, so the next
  page answers the same question.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from ..errors import InvalidArgument
from ..models.base import parse_timestamp
from ..models.estate import Counts, Outcome, Window
from ..representation.query import em_time, parse_user_time, query_url, quote_value, read_paging
from .context import EmContext
from .cursor import decode_cursor, encode_cursor, invalid_cursor
from .pages import fit_items, share_fields
from .restore_points import backup_server_condition, check_text

DEFAULT_WINDOW = timedelta(hours=24)
MAX_ROWS_PER_PAGE = 200
_RUNNING_STATES = frozenset({"starting", "working", "stopping", "pausing", "resuming", "inprogress", "pending"})
_RESULTS: dict[str, Outcome] = {"success": "succeeded", "warning": "warning", "failed": "failed"}

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)


def outcome_of(state: str | None, result: str | None) -> Outcome:
    """``running`` while EM has not finished (its Result then means nothing), else the Result in words."""
    if state is not None and state.lower() in _RUNNING_STATES:
        return "running"
    return _RESULTS.get((result or "").lower(), "unknown")


def count(outcomes: Sequence[Outcome]) -> Counts:
    tally = {name: 0 for name in Counts.model_fields}
    for outcome in outcomes:
        tally[outcome] += 1
    return Counts(**tally)


def window_of(created_after: str | None, created_before: str | None, now: datetime) -> Window:
    """The UTC window asked for; the last 24 hours when neither end is given. Refused when empty."""
    after = em_time(parse_user_time(created_after, "created_after")) if created_after is not None else None
    before = em_time(parse_user_time(created_before, "created_before")) if created_before is not None else None
    if after is None and before is None:
        return Window(created_after=em_time((now - DEFAULT_WINDOW).replace(microsecond=0)), defaulted=True)
    if after is not None and before is not None and parse_timestamp(after) >= parse_timestamp(before):
        raise InvalidArgument(
            f"created_after ({after}) must be earlier than created_before ({before}); the window is empty. "
            "Nothing was sent to Enterprise Manager."
        )
    return Window(created_after=after, created_before=before)


def time_conditions(window: Window, field: str = "CreationTime") -> list[str]:
    parts = []
    if window.created_after:
        parts.append(f"{field}>={quote_value(window.created_after)}")
    if window.created_before:
        parts.append(f"{field}<{quote_value(window.created_before)}")
    return parts


def server_condition(backup_server: str | None) -> str | None:
    if backup_server is None:
        return None
    check_text("backup_server", backup_server)
    return backup_server_condition(backup_server)


def duration(start: str | None, end: str | None) -> int | None:
    if not start or not end:
        return None
    return max(0, round((parse_timestamp(end) - parse_timestamp(start)).total_seconds()))


def job_of_session_name(name: str | None) -> str | None:
    """``SQL Backup@2026-11-20 10:00:05`` → ``SQL Backup`` (EM names runs <job>@<UTC start>)."""
    return name.rsplit("@", 1)[0] if name and "@" in name else name


async def unknown_name(em: EmContext, em_type: str, field: str, name: str, what: str) -> InvalidArgument | None:
    """When EM knows no ``what`` of that name: an error naming it and the nearest names (None when it exists)."""
    url = query_url(em.base_url, em_type, filter=f"{field}=={quote_value(name)}", format="References", page_size=1)
    if read_paging(doc := await em.client.get(url)).pages_count and doc.data.get("refs"):
        return None
    names = await known_names(em, em_type, field)
    near = difflib.get_close_matches(name, names, n=5, cutoff=0.5) or difflib.get_close_matches(
        name.casefold(), [n.casefold() for n in names], n=5, cutoff=0.5
    )
    hint = f" The nearest names EM knows: {', '.join(near)}." if near else ""
    return InvalidArgument(
        f"Enterprise Manager knows no {what} named {name!r} (names are compared whole, ignoring case).{hint}"
    )


async def known_names(em: EmContext, em_type: str, field: str) -> list[str]:
    """Names of every item of a small type (jobs), or of the VMs seen recently (restore points)."""
    if em_type == "VmRestorePoint":
        await em.vm_names.refresh(em.client, em.base_url)
        return list(em.vm_names.names)
    url = query_url(em.base_url, em_type, format="References", sort=("asc", "Name"), page_size=1000)
    doc = await em.client.get(url)
    refs = doc.data.get("refs")
    return [str(ref.get("name")) for ref in refs if isinstance(ref, dict) and ref.get("name")] if refs else []


# --- paged rows -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowCursor:
    """Where a paged answer resumes: its question (the tool's arguments, the window fixed) and the first row."""

    search: str
    tool: str
    arguments: dict[str, Any]
    offset: int

    def encode(self) -> str:
        return encode_cursor(self.search, {"a": self.arguments, "o": self.offset})

    @classmethod
    def decode(cls, search: str, tool: str, text: str, allowed: Callable[[dict[str, Any]], bool]) -> RowCursor:
        payload = decode_cursor(search, text, tool=tool)
        arguments, offset = payload.get("a"), payload.get("o")
        if not isinstance(arguments, dict) or type(offset) is not int or offset < 0 or not allowed(arguments):
            raise invalid_cursor(tool)
        return cls(search, tool, arguments, offset)


def page_of(
    em: EmContext,
    rows: Sequence[M],
    offset: int,
    page_size: int,
    build: Callable[[list[M], dict[str, Any] | None, int | None], R],
    *,
    share: bool = True,
) -> R:
    """The result for the rows from ``offset``: as many as fit the result size limit (at most ``page_size``),
    the fields they all share given once (unless ``share`` is false), and the offset the next page starts at.

    ``build(rows, shared, next_offset)`` makes the result for a candidate page; each row is measured once.
    """
    window = list(rows[offset : offset + page_size])
    shared, compact = share_fields(window) if share else ({}, window)
    whole = build(compact, shared or None, None if offset + len(window) >= len(rows) else offset + len(window))
    if em.budget.fits(whole):
        return whole
    envelope = em.budget.size(build([], None, offset)) + len(json.dumps(shared, default=str)) + 12
    fitting = fit_items(em.budget, envelope, compact if shared else window)
    if shared and fitting < 2:
        compact, shared = window, {}
        fitting = fit_items(em.budget, em.budget.size(build([], None, offset)), window)
    # One row at least, or a cursor would point back at this very page; a row too large for the limit alone
    # is then refused by the tool with that reason.
    fitting = max(fitting, min(1, len(compact)))
    following = offset + fitting if offset + fitting < len(rows) else None
    return build(compact[:fitting], shared or None, following)


def more_rows_note(note: str | None, offset: int, returned: int, total: int) -> str:
    """``note``, and which rows this page holds of how many, with what to do for the rest."""
    more = f"Rows {offset + 1}-{offset + returned} of {total}: call again with cursor=next_cursor for the rest."
    return f"{note} {more}" if note else more

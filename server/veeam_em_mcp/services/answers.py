"""Answers computed once and handed out a page at a time, every page from the same snapshot.

An estate answer (every VM of a protection report, every task of a week) is computed from one reading
of EM, kept in the snapshot store (``stores``: this process, or a Redis/Valkey server every replica
shares) and handed out as many rows as fit the result size limit at a time. A cursor names the kept
answer, the position in it and the arguments that asked for it, so every page of a cursor walk comes
from the same snapshot (the same ``as_of``, every row exactly once), whichever replica answers; when
the snapshot is gone (expired, another replica without a shared store), the cursor is refused with
"start again" rather than answered from a second reading of EM.

Identical questions asked at the same time share one computation (``SingleFlight``): twenty clients
asking for the same report cost one reading of EM and one answer's memory.

An answer of tens of thousands of rows (a protection report) may come as a ``Whole``: its rows plain data
until a page hands them out. A model per row is validated then (a page's rows, not the whole answer's), and
the kept snapshot is validated, row by row, when a cursor reads it: every row handed out is checked.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, get_args

import anyio
import orjson
import pydantic_core
from pydantic import BaseModel, ValidationError

from ..errors import InvalidArgument, SnapshotUnavailable
from ..models.arguments import Arguments, dump
from ..models.estate import Page
from ..representation.collector import gc_held, held_until_sent, release_later
from . import freshness
from .context import EmContext
from .cursor import decode_cursor, encode_cursor, invalid_cursor
from .pages import fit_items, share_fields

A = TypeVar("A", bound=Arguments)
P = TypeVar("P", bound=Page)

_SNAPSHOT_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}\Z")


@dataclass(frozen=True)
class Whole(Generic[P]):
    """A whole answer with its rows as plain data: each row a dict of the row model's fields, JSON-ready.

    For answers of tens of thousands of rows, where validating a model per row would cost more than the rows'
    own logic (a 50,000-VM report: about a second, after EM's last byte). ``answer`` is the envelope (its rows
    empty); a row is validated into its model when a page hands it out.
    """

    answer: P
    rows: list[dict[str, Any]]


@dataclass
class Computed(Generic[P]):
    """A whole answer, its rows (the answer's models, or a ``Whole``'s dicts: ``plain``), the id its snapshot
    is kept under, and whether it is kept yet (once, however many calls share the answer)."""

    answer: P
    rows: list[Any]
    plain: bool
    snapshot: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    kept: bool | None = None  # None: not put yet; False: the store did not keep it (too large)
    size: int = 0  # the kept answer's bytes
    lock: anyio.Lock = field(default_factory=anyio.Lock)


async def paged(
    em: EmContext,
    tool: str,
    arguments: A,
    cursor: str | None,
    result: type[P],
    compute: Callable[[A], Awaitable[P | Whole[P]]],
    *,
    share: bool = True,
) -> P:
    """The page of ``tool``'s answer to ``arguments`` that ``cursor`` names (the first without one).

    ``compute`` builds the whole answer (every row, the envelope's constants: summary, counts, as_of, note,
    em_requests), or a ``Whole``; this function keeps it, cuts the page (as many rows as fit, at most
    ``page_size``) and fills the rest of the envelope.
    """
    row_model = _row_model(result)
    offset = 0
    if cursor is not None:
        carried, snapshot, offset = _decode(tool, type(arguments), cursor)
        if (name := carried.contradiction(arguments)) is not None:
            raise InvalidArgument(
                f"The cursor continues an answer with {name}={getattr(carried, name)!r}, but {name}="
                f"{getattr(arguments, name)!r} was given beside it. Pass the cursor alone to continue that answer, "
                "or drop the cursor to ask the new question."
            )
        raw = await em.snapshots.get(_key(tool, snapshot))
        if raw is None:
            raise SnapshotUnavailable(_gone(em, tool))
        try:
            answer = result.model_validate_json(raw)
        except ValidationError:
            raise SnapshotUnavailable(_gone(em, tool)) from None
        rows = getattr(answer, result.ROWS)
        if offset > len(rows):
            raise invalid_cursor(tool)
        size = getattr(carried, "page_size", 50)
        return _page(em, answer, rows, row_model, offset, size, share, _cursors(tool, carried, snapshot))
    computed: Computed[P] = await em.flights.run(f"{tool}:{arguments.key()}", lambda: _compute(em, compute, arguments))
    answer, rows = computed.answer, computed.rows
    release_later(computed)  # the whole answer freed once this page is sent, not before
    size = getattr(arguments, "page_size", 50)
    page = _page(em, answer, rows, row_model, 0, size, share, _cursors(tool, arguments, computed.snapshot))
    if page.next_cursor is None:
        return page
    async with computed.lock:
        if computed.kept is None:
            data = _snapshot(answer, rows if computed.plain else None)
            computed.kept = await em.snapshots.put(_key(tool, computed.snapshot), data, em.settings.snapshot_ttl)
            computed.size = len(data)
    if not computed.kept:  # a cursor to an answer not kept would only fail: the page says so instead
        return _page(em, answer, rows, row_model, 0, size, share, None, unkept=computed.size)
    return page


async def _compute(em: EmContext, compute: Callable[[A], Awaitable[P | Whole[P]]], arguments: A) -> Computed[P]:
    # The collector held off while the answer is built (see gc_held), not only while its windows are read: the
    # rows are made from thousands of records still held, and each full collection would traverse them all.
    with gc_held():
        made = await compute(arguments)
        held_until_sent()  # not resumed before the page is sent: its first collection would traverse the answer
    answer, rows = (made.answer, made.rows) if isinstance(made, Whole) else (made, getattr(made, made.ROWS))
    # How current EM's data is: every estate answer says it, and warns when a backup server's is stale.
    oldest, warning, spent, versions = await freshness.collected(em, datetime.now(UTC))
    note = " ".join(part for part in (warning, answer.note) if part) or None
    update = {"collected": oldest, "server_versions": versions, "note": note, "em_requests": answer.em_requests + spent}
    return Computed(answer.model_copy(update=update), rows, plain=isinstance(made, Whole))


def _row_model(result: type[Page]) -> type[BaseModel]:
    """The model of ``result``'s rows (its ``ROWS`` field is a list of them)."""
    (row,) = get_args(result.model_fields[result.ROWS].annotation)
    if not (isinstance(row, type) and issubclass(row, BaseModel)):
        raise TypeError(f"{result.__name__}.{result.ROWS} is not a list of models")
    return row


def _snapshot(answer: Page, plain_rows: list[dict[str, Any]] | None) -> bytes:
    """The whole answer as JSON, as ``model_validate_json`` reads it back for a cursor's page."""
    if plain_rows is None:
        # model_dump_json's bytes, without its str and the copy encode() makes (tens of MB at 50,000 rows).
        return answer.__pydantic_serializer__.to_json(answer)
    # A Whole's rows are dicts of JSON values: written in the envelope's place for them, by orjson (a 50,000-VM
    # report's 27 MB in ~70 ms, against ~200 ms for pydantic_core's writer). What orjson refuses (a lone surrogate,
    # an integer past 64 bits) is written by pydantic_core's, as it was before.
    whole = {**answer.model_dump(mode="json", exclude={answer.ROWS}), answer.ROWS: plain_rows}
    try:
        return orjson.dumps(whole)
    except orjson.JSONEncodeError:
        return pydantic_core.to_json(whole)


def _key(tool: str, snapshot: str) -> str:
    return f"{tool}:{snapshot}"


def _gone(em: EmContext, tool: str) -> str:
    where = (
        "the shared snapshot store no longer holds it"
        if em.snapshots.shared
        else "this server no longer holds it (it expired, the server restarted, or another replica behind a load "
        "balancer answered: replicas share answers only through VEEAM_MCP_SNAPSHOT_STORE)"
    )
    return (
        f"The answer this cursor continues cannot be read any more: {where}; answers are kept "
        f"{em.settings.snapshot_ttl:g} s (VEEAM_MCP_SNAPSHOT_TTL). Nothing was mixed from a second reading of EM: "
        f"call {tool} again without the cursor to start again."
    )


def _cursors(tool: str, arguments: Arguments, snapshot: str) -> Callable[[int], str]:
    """The cursor to the rows from a position of the kept answer."""
    carried = dump(arguments)
    return lambda offset: encode_cursor(tool, {"a": carried, "s": snapshot, "o": offset})


def _page(
    em: EmContext,
    answer: P,
    rows: list[Any],
    row_model: type[BaseModel],
    offset: int,
    size: int,
    share: bool,
    cursor: Callable[[int], str] | None,
    *,
    unkept: int = 0,
) -> P:
    """The rows from ``offset``: as many as fit the result size limit (at most ``size``), shared fields once.

    ``cursor`` None: the whole answer (``unkept`` bytes) was not kept, so no page can follow this one.
    """
    # Every row handed out is validated here, from its fields: a Whole's (a dict) and a model made unchecked
    # while EM was still answering (models.base.unchecked) alike; a page holds a few dozen.
    window = [
        row_model.model_validate(row if isinstance(row, dict) else row.__dict__)
        for row in rows[offset : offset + size]
    ]
    shared, compact = share_fields(window) if share else ({}, list(window))

    def build(part: list[Any], common: dict[str, Any] | None, following: int | None) -> P:
        note = answer.note
        if following is not None:
            more = (
                f"Rows {offset + 1}-{offset + len(part)} of {len(rows)}: call again with cursor=next_cursor "
                "for the rest."
                if cursor is not None
                else f"Rows {offset + 1}-{offset + len(part)} of {len(rows)} only: the whole answer "
                f"({unkept / 1e6:.0f} MB as JSON) is more than the snapshot store keeps for later pages, so no "
                "cursor can continue it. Ask a narrower question (a job, a backup server, fewer rows) for the rest."
            )
            note = f"{note} {more}" if note else more
        return answer.model_copy(
            update={
                type(answer).ROWS: part,
                "shared": common or None,
                "returned": len(part),
                "total": len(rows),
                "next_cursor": None if following is None or cursor is None else cursor(following),
                "truncated": following is not None,
                "note": note,
                "em_requests": answer.em_requests if offset == 0 else 0,
            }
        )

    following = offset + len(window) if offset + len(window) < len(rows) else None
    whole = build(compact, shared, following)
    if em.budget.fits(whole):
        return whole
    envelope = em.budget.size(build([], None, offset)) + len(json.dumps(shared, default=str)) + 24
    fitting = fit_items(em.budget, envelope, compact if shared else window)
    if shared and fitting < 2:
        compact, shared = list(window), {}
        fitting = fit_items(em.budget, em.budget.size(build([], None, offset)) + 24, window)
    # One row at least, or the cursor would point back at this very page (rows cut their long texts to fit).
    fitting = max(fitting, min(1, len(compact)))
    following = offset + fitting if offset + fitting < len(rows) else None
    return build(compact[:fitting], shared, following)


def _decode(tool: str, kind: type[A], cursor: str) -> tuple[A, str, int]:
    payload = decode_cursor(tool, cursor, tool=tool)
    carried, snapshot, offset = payload.get("a"), payload.get("s"), payload.get("o")
    if not isinstance(carried, dict) or not isinstance(snapshot, str) or not _SNAPSHOT_ID.match(snapshot):
        raise invalid_cursor(tool)
    if type(offset) is not int or not 0 < offset < 10_000_000:
        raise invalid_cursor(tool)
    try:
        arguments = kind.model_validate(carried)
    except (ValidationError, RecursionError, ValueError):
        raise invalid_cursor(tool) from None
    return arguments, snapshot, offset

"""Pages of a window read into records (``fields``): the lean path, or the generic one for any other shape.

XML passes the same safety checks as every body (no DTD, no entity, no HTML) and is read from the tree
(``findtext``-like: the other children are never turned into values); JSON from ``json.loads`` output
(``field_json``). A page of an unexpected shape is read the generic way (``parse`` and the registry's model)
and turned into the same records, so nothing EM sends is read differently; ``generic_reads()`` forces that
path, which is how the tests prove the two agree on every field, in every dialect.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from xml.etree import ElementTree

from ..errors import HtmlInsteadOfApi, MalformedResponse
from .collector import gc_paused
from .field_json import folded, json_job, json_record, may_link_jobs, names_linked_job, prune_members, raw_local
from .fields import Plan, R, from_model, plan_of, record_of
from .parse import (
    Document,
    decode_text,
    json_key,
    json_some,
    normalise_json,
    normalise_xml,
    scrubber,
    xml_key,
    xml_some,
    xml_tag,
    xml_tree,
)
from .query import Paging, parse_query_page, read_paging

# --- pages --------------------------------------------------------------------------------------------------

_generic: ContextVar[bool] = ContextVar("veeam_em_mcp_generic_reads", default=False)


@contextmanager
def generic_reads() -> Iterator[None]:
    """Every window read inside reads its pages the generic way (models, then records): the reference the
    field reader is compared with."""
    token = _generic.set(True)
    try:
        yield
    finally:
        _generic.reset(token)


def read_page(
    body: bytes, content_type: str, record: type[R], generic: Callable[[], Document]
) -> tuple[Paging, list[R]]:
    """The paging and the records of one ``format=Entities`` QueryResult.

    ``generic`` parses the body the ordinary way (with the client's checks); it is used when the page is not
    of a shape the field reader knows, or holds an error, so that every such page is read (or refused) exactly
    as before.
    """
    plan = plan_of(record)
    lean = _leanly(lambda: _lean_page(body, content_type, record, plan))
    return lean if lean is not None else _generic_page(record, generic)


def _generic_page(record: type[R], generic: Callable[[], Document]) -> tuple[Paging, list[R]]:
    """The page read the ordinary way (the client's checks, models), then its records."""
    page = parse_query_page(generic(), record.EM_TYPE)
    return page.paging, [from_model(record, item) for item in page.items]


_T = TypeVar("_T")
# What the field reader gives up on: the generic path reads the page, or says what is wrong in its own words.
_NOT_LEAN = (MalformedResponse, HtmlInsteadOfApi, RecursionError, ValueError)


def _leanly(read: Callable[[], _T | None]) -> _T | None:
    """``read`` (the field reader at a page), with the collector paused; None when the page is for the generic
    path (a shape it does not know, an error, or ``generic_reads``)."""
    if _generic.get():
        return None
    with gc_paused():
        try:
            return read()
        except _NOT_LEAN:
            return None


ItemT = TypeVar("ItemT")  # a page's item, as whoever reads the page makes it


@dataclass(frozen=True)
class PagePeek(Generic[ItemT]):
    """A page read but for its items' records: its paging, how many items it holds, and each item's record on
    demand (``record_at``), so that a reader can act on page 1's edges before its other records are made."""

    paging: Paging
    count: int
    record_at: Callable[[int], ItemT]


def peek_page(body: bytes, content_type: str, record: type[R], generic: Callable[[], Document]) -> PagePeek[R]:
    """``read_page``, each record made when asked for: a JSON page of the shape the field reader knows is parsed
    and its items found now, their records later; any other page is read whole now. A record the field reader
    cannot make sends the whole page the generic way, as ``read_page`` would (and says what is wrong the same)."""
    plan = plan_of(record)

    def peek() -> PagePeek[R] | None:
        lean = _lean_text(body, content_type)
        if lean is None:
            return None
        text, is_json = lean
        if is_json:
            return _json_peek(text, record, plan, body)
        page = _xml_page(text, record, plan, body)  # an XML page is read whole now
        return None if page is None else PagePeek(page[0], len(page[1]), page[1].__getitem__)

    peeked = _leanly(peek)
    if peeked is not None:
        return _falling_back(peeked, lambda: _generic_page(record, generic)[1])
    paging, records = _generic_page(record, generic)
    return PagePeek(paging, len(records), records.__getitem__)


def _falling_back(peeked: PagePeek[R], whole: Callable[[], list[R]]) -> PagePeek[R]:
    """``peeked``, whose records are read the generic way from the first one the field reader cannot make."""
    generic: list[list[R]] = []

    def record_at(index: int) -> R:
        if not generic:
            try:
                with gc_paused():
                    return peeked.record_at(index)
            except _NOT_LEAN:
                generic.append(whole())
        return generic[0][index]

    return PagePeek(peeked.paging, peeked.count, record_at)


def _none(index: int) -> Any:
    raise IndexError(index)


def _lean_page(body: bytes, content_type: str, record: type[R], plan: Plan) -> tuple[Paging, list[R]] | None:
    lean = _lean_text(body, content_type)
    if lean is None:
        return None
    text, is_json = lean
    return _json_page(text, record, plan, body) if is_json else _xml_page(text, record, plan, body)


def _lean_text(body: bytes, content_type: str) -> tuple[str, bool] | None:
    """A page's text and whether it is JSON (else XML), when the field reader may read it (never HTML)."""
    kind = content_type.lower()
    if "html" in kind:
        return None
    text = decode_text(body).lstrip()
    if not text:
        return None
    return text, "json" in kind or ("xml" not in kind and text[0] in "{[")


def _json_page(text: str, record: type[R], plan: Plan, body: bytes) -> tuple[Paging, list[R]] | None:
    peeked = _json_peek(text, record, plan, body)
    return None if peeked is None else (peeked.paging, [peeked.record_at(i) for i in range(peeked.count)])


def _json_peek(text: str, record: type[R], plan: Plan, body: bytes) -> PagePeek[R] | None:
    value = json.loads(text)
    if not isinstance(value, dict):
        return None
    scrub = scrubber(text, body)
    paging: Any = None
    entities: Any = None
    for key, inner in value.items():
        name = json_key(key)
        if name == "paging_info":
            paging = normalise_json(raw_local(key), inner, scrub)
        elif name == "entities":
            entities = inner
    if not isinstance(paging, dict):
        return None
    read = read_paging(Document(root=None, data={"paging_info": paging}))
    if entities is None:
        return PagePeek(read, 0, _none)
    if not isinstance(entities, dict) or folded("Entities", entities) is not None:
        return None  # not a mapping of lists, or one the generic rules fold into a list: read the generic way
    row = plan.row
    by_name = {json_key(key): (key, inner) for key, inner in entities.items()}
    chosen = by_name.get(row.list_key) or by_name.get(row.item_key)
    if chosen is None:
        return PagePeek(read, 0, _none)
    key, items = chosen
    if isinstance(items, dict):
        if folded(raw_local(key), items) is None and not _wraps(items):
            return None  # one item: the generic rules decide
        items = next(iter(items.values()))
    if not items:
        return PagePeek(read, 0, _none)
    if not isinstance(items, list) or not all(isinstance(item, dict) and len(item) != 1 for item in items):
        return None
    members = "job_info" in plan.wanted
    linked = members and may_link_jobs(text)

    def record_at(index: int) -> R:
        item = items[index]
        if item.__class__ is record:
            return item  # made before (a window's edges are read first)
        made = None
        if members and not (linked and names_linked_job(item)):
            made = json_job(record, plan, item, scrub)
            if made is None:
                prune_members(item)
        if made is None:
            made = json_record(record, plan, item, scrub)
        if made is None:
            made = record_of(record, plan, json_some(item, plan.wanted, scrub))
        items[index] = made  # the item's parsed JSON freed as its record is made (a job's members are most of a page)
        return made

    return PagePeek(read, len(items), record_at)


def _wraps(value: dict[str, Any]) -> bool:
    """Whether this JSON object is a wrapper EM names otherwise than its items (v12's singular ``AgentBackupJob``
    around ``AgentBackupJobs``), whose list ``query.parse_query_page`` reads all the same: one key, holding a list."""
    if len(value) != 1:
        return False
    ((inner_key, inner),) = value.items()
    return isinstance(inner, list) and json_key(inner_key) not in (None, "links")


def _xml_page(text: str, record: type[R], plan: Plan, body: bytes) -> tuple[Paging, list[R]] | None:
    root = xml_tree(text)
    if xml_tag(root.tag) != "QueryResult":
        return None
    scrub = scrubber(text, body)
    paging_at: ElementTree.Element | None = None
    entities_at: ElementTree.Element | None = None
    for child in root:
        tag = xml_tag(child.tag)
        if tag == "PagingInfo" and paging_at is None:
            paging_at = child
        elif tag == "Entities" and entities_at is None:
            entities_at = child
        elif tag in ("PagingInfo", "Entities"):
            return None
    if paging_at is None:
        return None
    paging = normalise_xml(paging_at, scrub)
    if not isinstance(paging, dict):
        return None
    read = read_paging(Document(root="QueryResult", data={"paging_info": paging}))
    if entities_at is None or (len(entities_at) == 0 and not entities_at.attrib):
        return read, []
    row = plan.row
    if entities_at.attrib or len(entities_at) != 1 or (entities_at.text or "").strip():
        return None
    container = entities_at[0]
    if xml_key(container.tag) != row.list_key or container.attrib or (container.text or "").strip():
        return None
    items = list(container)
    if any(xml_tag(item.tag) != row.em_type for item in items):
        return None
    return read, [record_of(record, plan, xml_some(item, plan.wanted, scrub)) for item in items]

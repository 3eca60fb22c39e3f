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
from typing import Any
from xml.etree import ElementTree

from ..errors import HtmlInsteadOfApi, MalformedResponse
from .collector import gc_paused
from .field_json import json_record, may_link_jobs, names_linked_job, prune_members
from .fields import Plan, R, from_model, plan_of, record_of
from .parse import (
    _LIST_ITEMS,
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
    if not _generic.get():
        with gc_paused():
            try:
                lean = _lean_page(body, content_type, record, plan)
            except (MalformedResponse, HtmlInsteadOfApi, RecursionError, ValueError):
                lean = None  # the generic path says what is wrong, in its own words
        if lean is not None:
            return lean
    page = parse_query_page(generic(), record.EM_TYPE)
    return page.paging, [from_model(record, item) for item in page.items]


def _lean_page(body: bytes, content_type: str, record: type[R], plan: Plan) -> tuple[Paging, list[R]] | None:
    kind = content_type.lower()
    if "html" in kind:
        return None
    text = decode_text(body).lstrip()
    if not text:
        return None
    if "json" in kind or ("xml" not in kind and text[0] in "{["):
        return _json_page(text, record, plan)
    return _xml_page(text, record, plan)


def _json_page(text: str, record: type[R], plan: Plan) -> tuple[Paging, list[R]] | None:
    value = json.loads(text)
    if not isinstance(value, dict):
        return None
    scrub = scrubber(text)
    paging: Any = None
    entities: Any = None
    for key, inner in value.items():
        name = json_key(key)
        if name == "paging_info":
            paging = normalise_json(_local(key), inner, scrub)
        elif name == "entities":
            entities = inner
    if not isinstance(paging, dict):
        return None
    read = read_paging(Document(root=None, data={"paging_info": paging}))
    if entities is None:
        return read, []
    if not isinstance(entities, dict) or _folds("Entities", entities):
        return None  # not a mapping of lists, or one the generic rules fold into a list: read the generic way
    row = plan.row
    by_name = {json_key(key): (key, inner) for key, inner in entities.items()}
    chosen = by_name.get(row.list_key) or by_name.get(row.item_key)
    if chosen is None:
        return read, []
    key, items = chosen
    if isinstance(items, dict):
        if not _folds(_local(key), items) and not _wraps(items):
            return None  # one item: the generic rules decide
        items = next(iter(items.values()))
    if not items:
        return read, []
    if not isinstance(items, list) or not all(isinstance(item, dict) and len(item) != 1 for item in items):
        return None
    records = []
    members = "job_info" in plan.wanted
    linked = members and may_link_jobs(text)
    for item in items:
        if members and not (linked and names_linked_job(item)):
            prune_members(item)
        lean = json_record(record, plan, item, scrub)
        records.append(lean if lean is not None else record_of(record, plan, json_some(item, plan.wanted, scrub)))
    return read, records


def _local(key: str) -> str:
    return key.rsplit(":", 1)[-1].lstrip("@")


def _folds(local: str, value: dict[str, Any]) -> bool:
    """Whether the normaliser folds this JSON object into the list it wraps (``{"Xs": {"Xs": [...]}}``)."""
    if len(value) != 1:
        return False
    ((inner_key, inner),) = value.items()
    inner_local = _local(inner_key)
    return isinstance(inner, list) and (
        inner_local == local or local in (inner_local + "s", inner_local + "es") or inner_local in _LIST_ITEMS
    )


def _wraps(value: dict[str, Any]) -> bool:
    """Whether this JSON object is a wrapper EM names otherwise than its items (v12's singular ``AgentBackupJob``
    around ``AgentBackupJobs``), whose list ``query.parse_query_page`` reads all the same: one key, holding a list."""
    if len(value) != 1:
        return False
    ((inner_key, inner),) = value.items()
    return isinstance(inner, list) and json_key(inner_key) not in (None, "links")


def _xml_page(text: str, record: type[R], plan: Plan) -> tuple[Paging, list[R]] | None:
    root = xml_tree(text)
    if xml_tag(root.tag) != "QueryResult":
        return None
    scrub = scrubber(text)
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

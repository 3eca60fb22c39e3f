"""The field reader: a whole-window read takes only the fields its question uses, straight from the parsed page.

The estate operations read tens of thousands of entities per question (a 5,000-VM protection report reads
~23,000), and use a handful of fields of each. Normalising every key of every entity and building one
pydantic model per entity cost more than parsing the bytes, so a window read names its fields in a
``Record`` (one dataclass per question, below: adding a field is one line) and gets, per entity, only those:

- each field is read exactly as the registry row reads it (the same source keys, the same converter, the
  same link grouping, the row's ``derive``), from a mapping normalised only for the keys those need;
- identity stays EM's id (``id``; ``key`` is what tells two items apart, as ``querying`` does for models);
- XML passes the same safety checks as every body (no DTD, no entity, no HTML) and is read from the tree
  (``findtext``-like: the other children are never turned into values); JSON from ``json.loads`` output.

A page of an unexpected shape is read the generic way (``parse`` and the registry's model) and turned into
the same records, so nothing EM sends is read differently; ``generic_reads()`` forces that path, which is how
the tests prove the two agree on every field, in every dialect.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar
from xml.etree import ElementTree

from ..errors import HtmlInsteadOfApi, MalformedResponse
from ..models.base import UtcTimestamp
from ..models.resources import Entity, JobInclude, Ref
from .ids import guid_from
from .parse import (
    _LIST_ITEMS,
    Document,
    decode_text,
    gc_paused,
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
from .readers import _ACTION_QUERY, _NAVIGATION, Converter, path_and_query, text_of
from .registry import BY_TYPE, REGISTRY, ResourceType

R = TypeVar("R", bound="Record")

# Fields a row's ``derive`` builds rather than a converter, and the EM keys it builds them from.
_DERIVED_FROM: Mapping[str, tuple[str, ...]] = {
    "includes": ("job_info",),
    "source_jobs": ("job_info",),
    "schedule": ("job_schedule_options",),
    "retry_times": ("job_schedule_options",),
}


class Record:
    """What every record has: ``key`` tells two items apart (EM's id; the href or UID of an item without one),
    ``id`` is EM's id. ``EM_TYPE`` is the query type the record is read from."""

    __slots__ = ()
    EM_TYPE: ClassVar[str]
    key: str | None
    id: str | None


# --- the fields each whole-window read takes (one line per field) ------------------------------------------


@dataclass(slots=True)
class JobRunFields(Record):
    """A job run (``BackupJobSession``) as the protection report uses it."""

    EM_TYPE: ClassVar[str] = "BackupJobSession"
    key: str | None
    id: str | None
    name: str | None
    job_name: str | None
    job_uid: str | None
    job_type: str | None
    creation_time: UtcTimestamp | None
    state: str | None
    result: str | None
    failure_message: str | None
    backup_server: Ref | None
    job: Ref | None


@dataclass(slots=True)
class JobSessionFields(JobRunFields):
    """A job run as ``find_job_sessions`` and ``list_jobs`` fold it into runs (``services.runs``): the report's
    fields and what a run's row adds (its end, whether it is a retry)."""

    end_time: UtcTimestamp | None
    is_retry: bool | None


@dataclass(slots=True)
class TaskFields(Record):
    """A VM's task in a run (``BackupTaskSession``) as the protection report uses it."""

    EM_TYPE: ClassVar[str] = "BackupTaskSession"
    key: str | None
    id: str | None
    vm_name: str | None
    vm_uid: str | None
    creation_time: UtcTimestamp | None
    state: str | None
    result: str | None
    reason: str | None
    backup_server: Ref | None
    job_session: Ref | None


@dataclass(slots=True)
class TaskRowFields(TaskFields):
    """A VM's task as ``find_task_sessions`` shows it: the report's fields and what its row adds."""

    end_time: UtcTimestamp | None
    total_size: int | None
    vm_restore_point: Ref | None


@dataclass(slots=True)
class PointFields(Record):
    """A VM restore point (``VmRestorePoint``) as the protection report uses it."""

    EM_TYPE: ClassVar[str] = "VmRestorePoint"
    key: str | None
    id: str | None
    vm_name: str | None
    vm_display_name: str | None
    hierarchy_obj_ref: str | None
    creation_time: UtcTimestamp | None
    backup_server: Ref | None
    restore_point: Ref | None


@dataclass(slots=True)
class JobFields(Record):
    """A job (``Job``) as the protection report uses it: what it is, whether it runs, its members."""

    EM_TYPE: ClassVar[str] = "Job"
    key: str | None
    id: str | None
    name: str | None
    job_type: str | None
    platform: str | None
    schedule_enabled: bool | None
    includes: list[JobInclude] | None
    source_jobs: list[str] | None
    backup_server: Ref | None


@dataclass(slots=True)
class JobRowFields(JobFields):
    """A job as ``list_jobs`` shows it: the report's fields and its schedule."""

    schedule: str | None
    next_run: UtcTimestamp | None


# --- how a record is read -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """How the fields of one record type are read from its registry row (worked out once per type)."""

    row: ResourceType
    names: tuple[str, ...]  # the record's fields, in order
    wanted: frozenset[str]  # the normalised EM keys they are read from
    scalars: tuple[tuple[str, tuple[str, ...], Converter], ...]
    single: frozenset[str]  # the model's fields one link fills (the grouping rule needs them all)
    many: frozenset[str]
    links: frozenset[str]  # the link fields the record keeps
    segments: frozenset[str]  # the /api/<segment> (lower-case) a link to one of those starts with
    name: bool  # whether the record keeps the entity's name
    # (rel, href, name) -> the link field it fills ("" for none) and its Ref (frozen: one serves every record)
    links_seen: dict[tuple[str | None, str, str | None], tuple[str, Ref | None]] = field(default_factory=dict)
    fast: tuple[bool, ...] = ()  # per scalar: read by ``text_of`` of one key (a text is itself)
    # An entity's raw JSON keys (in order) -> those of them it reads, each with its normalised key
    json_keys: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # A link's raw JSON keys (in order) -> the raw keys its href, rel and name are read from (the last one that
    # normalises to each, as the normalised mapping keeps it)
    link_keys: dict[tuple[str, ...], tuple[str | None, str | None, str | None]] = field(default_factory=dict)


_PLANS: dict[type[Record], _Plan] = {}


def plan_of(record: type[Record]) -> _Plan:
    """The plan of ``record`` from its registry row, worked out once (a field the row cannot read is an error)."""
    plan = _PLANS.get(record)
    if plan is None:
        plan = _PLANS[record] = _plan(record)
    return plan


def _plan(record: type[Record]) -> _Plan:
    row = BY_TYPE[record.EM_TYPE]
    names = tuple(f.name for f in dataclasses.fields(record))  # type: ignore[arg-type]  # records are dataclasses
    scalars_by_name = {name: (keys, convert) for name, keys, convert in row.read.plan}
    single, many = row.read.link_fields
    wanted: set[str] = {"uid", "href"}
    scalars: list[tuple[str, tuple[str, ...], Converter]] = []
    links: set[str] = set()
    for name in names:
        if name in ("key", "id"):
            continue
        if name == "name":
            wanted.add("name")
        elif name in scalars_by_name:
            keys, convert = scalars_by_name[name]
            scalars.append((name, keys, convert))
            wanted.update(keys)
        elif name in single or name in many:
            links.add(name)
            wanted.add("links")
        elif name in _DERIVED_FROM and row.read.derive is not None:
            wanted.update(_DERIVED_FROM[name])
        else:
            raise TypeError(f"{record.__name__}.{name}: {row.em_type} has no field of that name the registry reads")
        if name in _DERIVED_FROM and row.read.derive is not None:
            wanted.update(_DERIVED_FROM[name])  # the row's derive overrides a converter's value (a job's schedule)
    # Only links under these collections can fill the record's link fields: the others are not classified at all.
    segments = frozenset(
        collection.split("/", 1)[0].lower()
        for other in REGISTRY.rows
        if other.link_field in links or other.link_field + "s" in links
        for collection in other.collections
    )
    fast = tuple(convert is text_of and len(keys) == 1 for _, keys, convert in scalars)
    return _Plan(
        row, names, frozenset(wanted), tuple(scalars), single, many, frozenset(links), segments, "name" in names,
        fast=fast,
    )


_SHARED_CHARS = 100  # a text this short is likely said by many items (a state, a VM's name or reference, a time)
_SHAPES = 1_000  # the key sets of entities (and of links) remembered per record type: a few per type in practice
_CACHED = 50_000  # links remembered per record type: the same backup server, job and run are linked thousands of times


def _linked(data: Mapping[str, Any], plan: _Plan) -> dict[str, Any]:
    """The record's link fields, grouped exactly as ``readers.group_links`` groups them for the model."""
    found: dict[str, Any] = {}
    for item in data.get("links") or ():
        raw_href = item.get("href")
        if not raw_href:
            continue
        rel = item.get("rel")
        if rel is not None and rel.__class__ is not str:
            rel = text_of(item, "rel")
        _link_into(found, plan, rel, str(raw_href), text_of(item, "name"))
    return found


def _link_into(found: dict[str, Any], plan: _Plan, rel: str | None, href: str, name: str | None) -> None:
    """One link into the record's link field it fills, if any."""
    seen = plan.links_seen
    decided = seen.get((rel, href, name))
    if decided is None:
        if len(seen) > _CACHED:
            seen.clear()
        target = _target(rel, href, plan)
        decided = seen[(rel, href, name)] = (target, Ref(name=name, href=href) if target else None)
    target, ref = decided
    if not target:
        return
    if target in plan.many:
        found.setdefault(target, []).append(ref)
    elif target not in found:
        found[target] = ref


def _target(rel: str | None, href: str, plan: _Plan) -> str:
    """The record's link field a link fills ("" for none), decided as ``readers.group_links`` decides it."""
    rel = (rel or "").lower()
    if rel == "alternate" or rel not in _NAVIGATION:
        return ""  # itself in another representation, or an operation
    path, query = path_and_query(href)
    parts = [part for part in path.split("/") if part]  # as REGISTRY.classify splits it: /api/<collection>/…
    if len(parts) < 2 or parts[1].lower() not in plan.segments or _ACTION_QUERY.search(query):
        return ""
    kind, is_single = REGISTRY.classify(path)
    target = REGISTRY.link_field(kind) if is_single else None
    if target is None:
        return ""
    if target not in plan.single and target + "s" in plan.many:
        target += "s"
    return target if target in plan.links and (target in plan.many or target in plan.single) else ""


def _record(record: type[R], plan: _Plan, data: Mapping[str, Any]) -> R:
    return _finish(record, plan, data, _linked(data, plan) if plan.links else None)


def _finish(record: type[R], plan: _Plan, data: Mapping[str, Any], links: dict[str, Any] | None) -> R:
    """The record from its normalised keys (``data``) and its link fields, already grouped (``links``)."""
    uid, href = data.get("uid"), data.get("href")
    if uid is not None and uid.__class__ is not str:
        uid = text_of(data, "uid")
    if href is not None and href.__class__ is not str:
        href = text_of(data, "href")
    guid = guid_from(uid, href)
    values: dict[str, Any] = {"key": guid or href or uid, "id": guid}
    if plan.name:
        values["name"] = text_of(data, "name")
    get = data.get
    for (name, keys, convert), fast in zip(plan.scalars, plan.fast, strict=True):
        if fast:
            value = get(keys[0])
            if value is not None and value.__class__ is not str:
                value = convert(data, *keys)  # a number, or an element's text with its attributes
        else:
            value = convert(data, *keys)
        if value.__class__ is str and len(value) <= _SHARED_CHARS:
            value = sys.intern(value)  # one string for every item saying it (a state, a VM's name, a run's time)
        values[name] = value
    if links:
        values.update(links)
    derive = plan.row.read.derive
    if derive is not None:
        values.update(derive(values, data))
    return record(*map(values.get, plan.names))


def from_model(record: type[R], item: Entity) -> R:
    """The record of an entity read the generic way (the registry's model): the same fields, from the model."""
    plan = plan_of(record)
    values = {"key": item.id or item.href or item.uid, "id": item.id}
    return record(*(values[name] if name in values else getattr(item, name) for name in plan.names))


_KEEP = scrubber("")  # what a body with nothing to clean does to its strings: nothing


def _json_record(record: type[R], plan: _Plan, item: dict[str, Any], scrub: Callable[[str], str]) -> R | None:
    """The record of one JSON entity as EM sends it (every wanted value a scalar, its links flat objects of
    scalars), read straight from ``json.loads`` output: what ``json_some`` and ``_record`` make of it, without
    the normalised mapping of its links. ``None`` for any other shape: the general rules read it."""
    keep = scrub is _KEEP
    shapes = plan.json_keys
    shape = tuple(item)
    read = shapes.get(shape)
    if read is None:
        if len(shapes) > _SHAPES:
            shapes.clear()
        read = shapes[shape] = tuple((key, name) for key in shape if (name := json_key(key) or "") in plan.wanted)
    data: dict[str, Any] = {}
    links: Any = None
    for key, name in read:
        value = item[key]
        if name == "links":
            links = value
        elif value.__class__ is str:
            data[name] = value if keep else scrub(value)
        elif value is None or isinstance(value, (int, float)):  # bool is an int
            data[name] = value
        else:
            return None  # a nested value: normalised by the general rules
    found: dict[str, Any] | None = None
    if links is not None:
        found = _json_links(links, plan, keep, scrub)
        if found is None:
            return None
    return _finish(record, plan, data, found)


def _json_links(links: Any, plan: _Plan, keep: bool, scrub: Callable[[str], str]) -> dict[str, Any] | None:
    """``_linked`` over a JSON ``Links`` list of objects, as sent; ``None`` for any other shape. Only a link's
    href, rel and name are read (its other keys fill no field), so only those must be text."""
    if links.__class__ is not list:
        return None
    found: dict[str, Any] = {}
    layouts, seen, many = plan.link_keys, plan.links_seen, plan.many
    for link in links:
        if not isinstance(link, dict):
            continue  # as _links_list leaves it out
        shape = tuple(link)
        layout = layouts.get(shape)
        if layout is None:
            if len(layouts) > _SHAPES:
                layouts.clear()
            layout = layouts[shape] = _link_layout(shape)
        href_key, rel_key, name_key = layout
        href = None if href_key is None else link[href_key]
        rel = None if rel_key is None else link[rel_key]
        name = None if name_key is None else link[name_key]
        if not (keep and href.__class__ is str and (rel is None or rel.__class__ is str)
                and (name is None or name.__class__ is str)):
            said = [href, rel, name]
            for index, value in enumerate(said):
                if value.__class__ is str:
                    said[index] = value if keep else scrub(value)
                elif value is not None and not isinstance(value, (int, float)):
                    return None  # a link holding more than text: the general rules
            href, rel, name = said
            if not href:
                continue
            href = str(href)
            rel = rel if rel is None or rel.__class__ is str else str(rel)
            name = name if name is None or name.__class__ is str else str(name)
        elif not href:
            continue
        decided = seen.get((rel, href, name))
        if decided is None:
            _link_into(found, plan, rel, href, name)
            continue
        target, ref = decided
        if not target:
            continue
        if target in many:
            found.setdefault(target, []).append(ref)
        elif target not in found:
            found[target] = ref
    return found


def _link_layout(shape: tuple[str, ...]) -> tuple[str | None, str | None, str | None]:
    """The raw keys of a link's href, rel and name (the last key normalising to each, as a mapping keeps it)."""
    last: dict[str | None, str] = {json_key(key): key for key in shape}
    return last.get("href"), last.get("rel"), last.get("name")


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


def _lean_page(body: bytes, content_type: str, record: type[R], plan: _Plan) -> tuple[Paging, list[R]] | None:
    kind = content_type.lower()
    if "html" in kind:
        return None
    text = decode_text(body).lstrip()
    if not text:
        return None
    if "json" in kind or ("xml" not in kind and text[0] in "{["):
        return _json_page(text, record, plan)
    return _xml_page(text, record, plan)


def _json_page(text: str, record: type[R], plan: _Plan) -> tuple[Paging, list[R]] | None:
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
        if not _folds(_local(key), items):
            return None  # one item, or a wrapper named otherwise than its items: the generic rules decide
        items = next(iter(items.values()))
    if not items:
        return read, []
    if not isinstance(items, list) or not all(isinstance(item, dict) and len(item) != 1 for item in items):
        return None
    records = []
    members = "job_info" in plan.wanted
    linked = members and _may_link_jobs(text)
    for item in items:
        if members and not (linked and _names_linked_job(item)):
            _prune_members(item)
        lean = _json_record(record, plan, item, scrub)
        records.append(lean if lean is not None else _record(record, plan, json_some(item, plan.wanted, scrub)))
    return read, records


# A key that normalises to ``linked_job_uid`` (a copy job's sources, looked for anywhere in a job's JobInfo).
_LINKED_JOB = re.compile(r"linked[-_]?job[-_]?uid")
# What a job's member is read for (``registry._includes``: its name and reference), and EM's lists of members.
_MEMBER_KEYS = frozenset({"display_name", "name", "hierarchy_obj_ref"})
_MEMBER_LISTS = frozenset(
    {"object_in_jobs", "object_in_job", "object_in_agent_backup_jobs", "object_in_agent_backup_job"}
)


def _may_link_jobs(text: str) -> bool:
    """Whether a key of this JSON page may name a linked job (an escape, ``\\u…``, could spell one)."""
    lowered = text.lower()
    return "\\u" in lowered or ("linked" in lowered and _LINKED_JOB.search(lowered) is not None)


_PLAIN_KEYS: set[str] = set()  # raw JSON keys seen that do not normalise to linked_job_uid
_CONTAINERS = (dict, list)


def _names_linked_job(item: dict[str, Any]) -> bool:
    """Whether any key of this JSON entity, at any depth, normalises to ``linked_job_uid`` (a copy job's). The
    keys of each object are checked at once against the keys already known not to (a set operation in C)."""
    plain = _PLAIN_KEYS
    stack: list[Any] = [item]
    while stack:
        node = stack.pop()
        if node.__class__ is dict:
            if not plain.issuperset(node):
                for key in node:
                    if key not in plain:
                        if json_key(key) == "linked_job_uid":
                            return True
                        if len(plain) > _CACHED:
                            plain.clear()
                        plain.add(key)
            stack += [inner for inner in node.values() if inner.__class__ in _CONTAINERS]
        elif node.__class__ is list:
            stack += [inner for inner in node if inner.__class__ in _CONTAINERS]
        else:
            return True  # a subclass of dict or list (not json.loads output): say maybe, read it whole
    return False


def _prune_members(item: dict[str, Any]) -> None:
    """A JSON job's members cut down, in place, to the keys ``registry._includes`` reads: a member carries its
    whole guest processing options (most of a job page), which nothing here reads. Only where the result cannot
    differ: a member the normaliser might fold into a list, or whose kept values are not text, stays whole."""
    for key, info in item.items():
        if json_key(key) != "job_info" or not isinstance(info, dict):
            continue
        holders = [info, *(inner for k, inner in info.items()
                           if json_key(k) in ("backup_job_info", "replica_job_info") and isinstance(inner, dict))]
        for holder in holders:
            for k, includes in holder.items():
                if json_key(k) == "includes" and isinstance(includes, dict):
                    for name, listed in includes.items():
                        if json_key(name) in _MEMBER_LISTS:
                            _prune_listed(listed)


def _prune_listed(listed: Any) -> None:
    if isinstance(listed, dict) and len(listed) == 1 and isinstance(next(iter(listed.values())), list):
        listed = next(iter(listed.values()))  # {"ObjectInJobs": {"ObjectInJob": [...]}}
    if not isinstance(listed, list):
        return
    for index, member in enumerate(listed):
        if not isinstance(member, dict) or (len(member) == 1 and isinstance(next(iter(member.values())), list)):
            continue
        kept = {key: value for key, value in member.items() if json_key(key) in _MEMBER_KEYS}
        if all(value is None or isinstance(value, (str, int, float)) for value in kept.values()):
            listed[index] = kept


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


def _xml_page(text: str, record: type[R], plan: _Plan) -> tuple[Paging, list[R]] | None:
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
    return read, [_record(record, plan, xml_some(item, plan.wanted, scrub)) for item in items]

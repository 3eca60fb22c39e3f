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

Here: the records and how each is read from its registry row (``plan_of``, ``record_of``). Pages are read into
records by ``field_pages`` (JSON entities straight from ``json.loads`` output by ``field_json``).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from ..models.base import UtcTimestamp
from ..models.resources import Entity, JobInclude, Ref
from .ids import GUID, guid_from
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
class ReplicaRunFields(JobSessionFields):
    """A replication run (``ReplicaJobSession``, kept apart by EM) as the runs fold it: a backup run's fields."""

    EM_TYPE: ClassVar[str] = "ReplicaJobSession"


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
class ReplicaTaskFields(TaskRowFields):
    """A VM's task in a replication run (``ReplicaTaskSession``) as ``find_task_sessions`` shows it: a task's
    fields and its replication run and replica point."""

    EM_TYPE: ClassVar[str] = "ReplicaTaskSession"
    replica_session: Ref | None
    vm_replica_point: Ref | None


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
class ReplicaPointFields(Record):
    """A VM replica point (``VmReplicaPoint``) as the protection report ties it to a replicated VM."""

    EM_TYPE: ClassVar[str] = "VmReplicaPoint"
    key: str | None
    id: str | None
    vm_name: str | None
    vm_display_name: str | None
    creation_time: UtcTimestamp | None
    backup_server: Ref | None
    replica: Ref | None


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


@dataclass(slots=True)
class AgentJobRowFields(JobRowFields):
    """A Veeam Agent job (``AgentBackupJob``, kept apart by EM) as ``list_jobs`` shows it: a job's row."""

    EM_TYPE: ClassVar[str] = "AgentBackupJob"


# --- how a record is read -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
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
    # An entity's raw JSON keys (in order) -> the function reading such entities (``field_direct``), or None
    direct: dict[tuple[str, ...], Any] = field(default_factory=dict)
    # (rel, href up to its last path segment, whether that segment is an id, the rest) -> the link field such a
    # link fills: every restore point's own link is new, but all of them go to the same field (``_target``)
    targets: dict[tuple[str | None, str, str | None, str], str] = field(default_factory=dict)


_PLANS: dict[type[Record], Plan] = {}


def plan_of(record: type[Record]) -> Plan:
    """The plan of ``record`` from its registry row, worked out once (a field the row cannot read is an error)."""
    plan = _PLANS.get(record)
    if plan is None:
        plan = _PLANS[record] = _plan(record)
    return plan


def _plan(record: type[Record]) -> Plan:
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
    return Plan(
        row, names, frozenset(wanted), tuple(scalars), single, many, frozenset(links), segments, "name" in names,
        fast=fast,
    )


SHARED_CHARS = 100  # a text this short is likely said by many items (a state, a VM's name or reference, a time)
SHAPES = 1_000  # the key sets of entities (and of links) remembered per record type: a few per type in practice
CACHED = 50_000  # links remembered per record type: the same backup server, job and run are linked thousands of times


def _linked(data: Mapping[str, Any], plan: Plan) -> dict[str, Any]:
    """The record's link fields, grouped exactly as ``readers.group_links`` groups them for the model."""
    found: dict[str, Any] = {}
    for item in data.get("links") or ():
        raw_href = item.get("href")
        if not raw_href:
            continue
        rel = item.get("rel")
        if rel is not None and rel.__class__ is not str:
            rel = text_of(item, "rel")
        link_into(found, plan, rel, str(raw_href), text_of(item, "name"))
    return found


def link_into(found: dict[str, Any], plan: Plan, rel: str | None, href: str, name: str | None) -> None:
    """One link into the record's link field it fills, if any."""
    seen = plan.links_seen
    decided = seen.get((rel, href, name))
    if decided is None:
        if len(seen) > CACHED:
            seen.clear()
        target = _target_of(rel, href, plan)
        decided = seen[(rel, href, name)] = (target, Ref(name=name, href=href) if target else None)
    target, ref = decided
    if not target:
        return
    if target in plan.many:
        found.setdefault(target, []).append(ref)
    elif target not in found:
        found[target] = ref


NAVIGATES: dict[str | None, bool] = {}  # a link's rel -> whether such a link may fill a field (see navigates)


def navigates(rel: str | None) -> bool:
    """Whether a link of this rel may fill a field: not the entity itself in another representation
    (``Alternate``, one per entity, each with its own href), not an operation. Remembered per rel."""
    known = NAVIGATES.get(rel)
    if known is None:
        if len(NAVIGATES) > SHAPES:
            NAVIGATES.clear()
        lowered = (rel or "").lower()
        known = NAVIGATES[rel] = lowered != "alternate" and lowered in _NAVIGATION
    return known


def _target_of(rel: str | None, href: str, plan: Plan) -> str:
    """``_target``, remembered by the link's shape: what decides it is the rel, the path up to its last segment,
    whether that segment is an id (``REGISTRY.classify`` asks no more of it) and the rest, never which id."""
    end = len(href)
    for mark in ("?", "#"):
        at = href.find(mark)
        if at != -1 and at < end:
            end = at
    slash = href.rfind("/", 0, end)
    last = href[slash + 1 : end]
    shape = (rel, href[: slash + 1], None if GUID.match(last) else last, href[end:])
    targets = plan.targets
    target = targets.get(shape)
    if target is None:
        if len(targets) > SHAPES:
            targets.clear()
        target = targets[shape] = _target(rel, href, plan)
    return target


def _target(rel: str | None, href: str, plan: Plan) -> str:
    """The record's link field a link fills ("" for none), decided as ``readers.group_links`` decides it."""
    if not navigates(rel):
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


def record_of(
    record: type[R], plan: Plan, data: Mapping[str, Any], derived: Mapping[str, Any] | None = None
) -> R:
    return finish(record, plan, data, _linked(data, plan) if plan.links else None, derived)


def finish(
    record: type[R],
    plan: Plan,
    data: Mapping[str, Any],
    links: dict[str, Any] | None,
    derived: Mapping[str, Any] | None = None,
) -> R:
    """The record from its normalised keys (``data``) and its link fields, already grouped (``links``); what the
    row's ``derive`` would make of keys left out of ``data`` is ``derived`` (``field_json.json_job``)."""
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
        if value.__class__ is str and len(value) <= SHARED_CHARS:
            value = sys.intern(value)  # one string for every item saying it (a state, a VM's name, a run's time)
        values[name] = value
    if links:
        values.update(links)
    derive = plan.row.read.derive
    if derive is not None:
        values.update(derive(values, data))
    if derived:
        values.update(derived)
    return record(*map(values.get, plan.names))


def from_model(record: type[R], item: Entity) -> R:
    """The record of an entity read the generic way (the registry's model): the same fields, from the model."""
    plan = plan_of(record)
    values = {"key": item.id or item.href or item.uid, "id": item.id}
    return record(*(values[name] if name in values else getattr(item, name) for name in plan.names))

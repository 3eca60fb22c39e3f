"""JSON entities read into records straight from ``json.loads`` output (``field_pages`` hands them here).

What ``parse.json_some`` and ``fields.record_of`` make of an entity as EM sends it (its wanted values text or
numbers, its links flat objects), without a normalised mapping of every link: an entity's keys are worked out
once per key set, a link's href, rel and name taken by their keys. Any other shape is left to the general
rules (``None``). A job's members are read straight from its JobInfo where no key of the job may name a linked
job (``json_job``), else cut down to what is read of them before its JobInfo is normalised.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..models.resources import JobInclude
from .field_direct import MISS, write_reader
from .fields import CACHED, NAVIGATES, SHAPES, Plan, R, finish, link_into, navigates, record_of
from .parse import LIST_ITEMS, json_key, json_local, json_some, scrubber

_KEEP = scrubber("")  # what a body with nothing to clean does to its strings: nothing


def json_record(record: type[R], plan: Plan, item: dict[str, Any], scrub: Callable[[str], str]) -> R | None:
    """The record of one JSON entity as EM sends it (every wanted value a scalar, its links flat objects of
    scalars), read straight from ``json.loads`` output: what ``json_some`` and ``record_of`` make of it, without
    the normalised mapping of its links. ``None`` for any other shape: the general rules read it."""
    keep = scrub is _KEEP
    shape = tuple(item)
    if keep:
        direct = plan.direct.get(shape, MISS)
        if direct is MISS:
            if len(plan.direct) > SHAPES:
                plan.direct.clear()
            direct = plan.direct[shape] = write_reader(
                record, plan, shape, lambda links: _json_links(links, plan, True, _KEEP)
            )
        if direct is not None and (got := direct(item)) is not MISS:
            return got  # type: ignore[no-any-return]  # the reader makes ``record``s
    shapes = plan.json_keys
    read = shapes.get(shape)
    if read is None:
        if len(shapes) > SHAPES:
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
    return finish(record, plan, data, found)


def _json_links(links: Any, plan: Plan, keep: bool, scrub: Callable[[str], str]) -> dict[str, Any] | None:
    """``_linked`` over a JSON ``Links`` list of objects, as sent; ``None`` for any other shape. Only a link's
    href, rel and name are read (its other keys fill no field), so only those must be text."""
    if links.__class__ is not list:
        return None
    found: dict[str, Any] = {}
    layouts, seen, many, navigating = plan.link_keys, plan.links_seen, plan.many, NAVIGATES
    for link in links:
        if not isinstance(link, dict):
            continue  # as _links_list leaves it out
        shape = tuple(link)
        layout = layouts.get(shape)
        if layout is None:
            if len(layouts) > SHAPES:
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
        if not navigating.get(rel) and not navigates(rel):
            continue  # fills no field whatever its href (the entity's own Alternate link): not remembered by href
        decided = seen.get((rel, href, name))
        if decided is None:
            link_into(found, plan, rel, href, name)
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


# A key that normalises to ``linked_job_uid`` (a copy job's sources, looked for anywhere in a job's JobInfo).
_LINKED_JOB = re.compile(r"linked[-_]?job[-_]?uid")
# What a job's member is read for (``registry._includes``: its name and reference), and EM's lists of members.
_MEMBER_KEYS = frozenset({"display_name", "name", "hierarchy_obj_ref"})
_MEMBER_LISTS = frozenset(
    {"object_in_jobs", "object_in_job", "object_in_agent_backup_jobs", "object_in_agent_backup_job"}
)


def may_link_jobs(text: str) -> bool:
    """Whether a key of this JSON page may name a linked job (an escape, ``\\u…``, could spell one)."""
    lowered = text.lower()
    return "\\u" in lowered or ("linked" in lowered and _LINKED_JOB.search(lowered) is not None)


_PLAIN_KEYS: set[str] = set()  # raw JSON keys seen that do not normalise to linked_job_uid
_CONTAINERS = (dict, list)


def names_linked_job(item: dict[str, Any]) -> bool:
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
                        if len(plain) > CACHED:
                            plain.clear()
                        plain.add(key)
            stack += [inner for inner in node.values() if inner.__class__ in _CONTAINERS]
        elif node.__class__ is list:
            stack += [inner for inner in node if inner.__class__ in _CONTAINERS]
        else:
            return True  # a subclass of dict or list (not json.loads output): say maybe, read it whole
    return False


def prune_members(item: dict[str, Any]) -> None:
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
    shapes = _MEMBER_SHAPES
    for index, member in enumerate(listed):
        if not isinstance(member, dict) or (len(member) == 1 and isinstance(next(iter(member.values())), list)):
            continue
        shape = tuple(member)
        keys = shapes.get(shape)
        if keys is None:  # the keys it keeps, worked out once per key set (members share a few)
            if len(shapes) > SHAPES:
                shapes.clear()
            keys = shapes[shape] = tuple(key for key in shape if json_key(key) in _MEMBER_KEYS)
        kept = {key: member[key] for key in keys}
        if all(value is None or isinstance(value, (str, int, float)) for value in kept.values()):
            listed[index] = kept


_MEMBER_SHAPES: dict[tuple[str, ...], tuple[str, ...]] = {}  # a member's raw keys -> those prune_members keeps


# --- a job's members, straight from its JobInfo ---------------------------------------------------------------

# Where ``derived._includes`` looks for a job's members (in this order), and the keys it reads of each.
_MEMBER_HOLDERS = ("backup_job_info", "replica_job_info")
_MEMBER_LIST_ORDER = ("object_in_jobs", "object_in_job", "object_in_agent_backup_jobs", "object_in_agent_backup_job")
_SCALARS = (str, int, float)  # a value text_of reads as it is (bool is an int); None is no value


def json_job(record: type[R], plan: Plan, item: dict[str, Any], scrub: Callable[[str], str]) -> R | None:
    """The record of a JSON job none of whose keys names a linked job (``names_linked_job``), its members read
    straight from its JobInfo: what ``record_of(json_some(...))`` and the job's ``derive`` make of it, without
    normalising the JobInfo (every member, a page's bulk) or walking it for linked jobs (there are none). Only
    the keys on the way to the members are looked at, so a JobInfo nested past the normaliser's depth limit
    elsewhere is not refused here. ``None`` for a shape the general rules must read (a member's name or
    reference that is not text, a body with anything to clean, a field read from the JobInfo otherwise)."""
    if scrub is not _KEEP or not _members_only(plan):
        return None
    info = _names(item).get("job_info")
    members = _members(item[info[0]], info[1]) if info is not None else []
    if members is None:
        return None
    data = json_some(item, plan.wanted - _JOB_INFO, scrub)
    return record_of(record, plan, data, {"includes": members or None, "source_jobs": None})


_JOB_INFO = frozenset({"job_info"})


def _members_only(plan: Plan) -> bool:
    """Whether the plan reads a job's JobInfo for its members and linked jobs only (its derived fields)."""
    return "job_info" in plan.wanted and all("job_info" not in keys for _, keys, _ in plan.scalars)


def _names(value: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """A JSON object's normalised keys -> the raw key the normalised mapping takes each from (the last one) and
    its local name; worked out once per key set."""
    shape = tuple(value)
    names = _KEY_NAMES.get(shape)
    if names is None:
        if len(_KEY_NAMES) > SHAPES:
            _KEY_NAMES.clear()
        names = _KEY_NAMES[shape] = {
            name: (key, local) for key in shape if (local := json_local(key)) is not None and (name := json_key(key))
        }
    return names


_KEY_NAMES: dict[tuple[str, ...], dict[str, tuple[str, str]]] = {}


def raw_local(key: str) -> str:
    """A JSON key's local name as the normaliser compares it when it folds lists (``ns:Refs`` → ``Refs``)."""
    return key.rsplit(":", 1)[-1].lstrip("@")


def folded(local: str, value: dict[str, Any]) -> tuple[list[Any], str] | None:
    """The list the normaliser folds this JSON object into (``{"Xs": {"X": [...]}}``, ``parse._normalise_value``'s
    rule) and its items' local name; None for an object it keeps as a mapping."""
    if len(value) != 1:
        return None
    ((inner_key, inner),) = value.items()
    inner_local = raw_local(inner_key)
    if inner.__class__ is list and (
        inner_local == local or local in (inner_local + "s", inner_local + "es") or inner_local in LIST_ITEMS
    ):
        return inner, inner_local
    return None


def _mapping_at(holder: dict[str, Any], name: str) -> tuple[dict[str, Any], dict[str, tuple[str, str]]] | None:
    """The raw object under ``name`` in ``holder`` with its key names, when it normalises to a mapping that is
    not empty (what ``derived._mapping`` takes); None otherwise."""
    at = _names(holder).get(name)
    if at is None:
        return None
    value = holder[at[0]]
    if value.__class__ is not dict or folded(at[1], value) is not None:
        return None
    names = _names(value)
    return (value, names) if names else None


def _members(info: Any, local: str) -> list[JobInclude] | None:
    """``derived._includes`` of the normalised JobInfo, from the raw one; None where the general rules must read."""
    if info.__class__ is not dict or folded(local, info) is not None:
        return []  # normalised into something other than a mapping: no members
    includes = None
    for holder in _MEMBER_HOLDERS:
        inner = _mapping_at(info, holder)
        if inner is not None and (includes := _mapping_at(inner[0], "includes")) is not None:
            break
    else:
        includes = _mapping_at(info, "includes")
    if includes is None:
        return []
    held, names = includes
    at = next((names[key] for key in _MEMBER_LIST_ORDER if key in names), None)
    if at is None:
        return []
    listed, local = held[at[0]], at[1]
    if listed.__class__ is dict:
        wrapped = folded(local, listed)
        listed, local = ([listed], local) if wrapped is None else wrapped
    elif listed.__class__ is not list:
        return []
    members: list[JobInclude] = []
    reads = _MEMBER_READS
    for member in listed:
        if member.__class__ is not dict or (len(member) == 1 and folded(local, member) is not None):
            continue  # normalised into something other than a mapping: not a member
        shape = tuple(member)
        read = reads.get(shape)
        if read is None:
            if len(reads) > SHAPES:
                reads.clear()
            names = _names(member)
            read = reads[shape] = (
                tuple(names[key][0] for key in ("display_name", "name") if key in names),
                tuple(names[key][0] for key in ("hierarchy_obj_ref",) if key in names),
            )
        said: list[str | None] = []
        for keys in read:
            text = None
            for key in keys:
                value = member[key]
                if value is None:
                    continue
                if not isinstance(value, _SCALARS):
                    return None  # a nested value: the general rules
                text = value if value.__class__ is str else str(value)
                break
            said.append(text)
        name, ref = said
        parts = ref.split(":", 3) if ref else []
        members.append(
            JobInclude(name=name, object_type=parts[2] if len(parts) > 2 else None, hierarchy_obj_ref=ref)
        )
    return members


# A member's raw keys -> the raw keys its name is read from (DisplayName, else Name) and its reference's
_MEMBER_READS: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}

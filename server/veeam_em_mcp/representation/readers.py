"""From a normalised EM document to models: scalar readers, link grouping and the generic entity reader.

An entity is read field by field from the normalised data (``parse``): each model field takes the first
of its source keys that EM sent (by default the field's own name; a registry row adds EM's other
spellings, e.g. ``creation_time_utc`` for ``creation_time``), converted by the field's declared type.
Values EM did not send stay ``None``; nothing is guessed.

Links are grouped by what they lead to (see ``models.resources``): a link to one resource of a known
kind fills the model's field for that kind, a link to a list becomes a ``collections`` entry, an
operation an ``actions`` name; the ``Alternate`` link and a canonical ``uid``/``href`` are dropped as
derivable, anything else is kept in ``other_links``.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from pydantic import BaseModel

from ..models.base import UtcTimestamp
from ..models.resources import (
    Entity,
    EntityRef,
    EntityReferences,
    GenericResource,
    Link,
    Ref,
    VmRestorePointMount,
    VmRestorePointMounts,
)
from .ids import GUID, guid_from
from .parse import snake

Data = Mapping[str, Any]

# Relations that navigate; any other Rel (Restore, Create, Start, Edit, Delete, …) names an operation.
_NAVIGATION = frozenset({"up", "down", "related", "alternate"})
_ACTION_QUERY = re.compile(r"(?:^|[&;])action=", re.IGNORECASE)


class Classifier(Protocol):
    """What the registry tells a reader about a path: its kind, and the model field a link to it fills."""

    def classify(self, path: str) -> tuple[str, bool]: ...

    def link_field(self, kind: str) -> str | None: ...


# .NET's DateTime.MinValue: how EM (and the "min" dialect of the running_end_time knob) writes "no time yet",
# e.g. the EndTimeUTC of a run still going on. It is no time at all, so it is read as not sent.
NO_TIME = re.compile(r"0001-01-01T00:00:00(?:\.0+)?(?:Z|[+-]00:?00)?$")


def timestamp_of(data: Data, *keys: str) -> str | None:
    text = text_of(data, *keys)
    return None if text is None or NO_TIME.match(text.strip()) else text


def text_of(data: Data, *keys: str) -> str | None:
    """The first of ``keys`` EM sent, as text; ``<Description />`` and JSON ``null`` are not sent."""
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, dict):  # an element with attributes and text
            value = value.get("value")
            if value is None:
                continue
        return str(value)
    return None


def int_of(data: Data, *keys: str) -> int | None:
    text = text_of(data, *keys)
    return int(text) if text not in (None, "") else None


def float_of(data: Data, *keys: str) -> float | None:
    text = text_of(data, *keys)
    return float(text) if text not in (None, "") else None


def bool_of(data: Data, *keys: str) -> bool | None:
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        return True if text == "true" else False if text == "false" else None
    return None


def links_of(data: Data) -> list[Link]:
    """EM's links exactly as sent (links without an href carry nothing to follow and are skipped)."""
    links: list[Link] = []
    for item in data.get("links") or []:
        href = item.get("href")
        if not href:
            continue
        links.append(
            Link(rel=text_of(item, "rel"), href=str(href), name=text_of(item, "name"), type=text_of(item, "type"))
        )
    return links


def _singular(segment: str) -> str:
    name = snake(segment)
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def path_and_query(href: str) -> tuple[str, str]:
    """The path and query of an EM href, absolute or relative: ``urlsplit`` without its cost.

    Only for sorting links into fields (thousands per page); what may be fetched is decided by the link
    policy, which parses URLs in full.
    """
    rest, _, query = href.partition("?")
    rest = rest.partition("#")[0]
    scheme = rest.find("://")
    if scheme != -1:
        slash = rest.find("/", scheme + 3)
        rest = rest[slash:] if slash != -1 else ""
    return rest, query.partition("#")[0]


def action_name(rel: str | None, path: str) -> str:
    """``Restore``; ``Create mount`` for a Create link to ``…/mounts``: the operation, as a person says it."""
    rel = rel or "Action"
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if rel.lower() in ("create", "delete", "edit") and last and not GUID.match(last):
        return f"{rel} {_singular(last).replace('_', ' ')}"
    return rel


@dataclass
class Grouped:
    """A resource's links, grouped: one field per related kind, collections, actions, the rest."""

    related: dict[str, Ref | list[Ref]] = field(default_factory=dict)
    collections: dict[str, str] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    other: list[Link] = field(default_factory=list)


def group_links(data: Data, registry: Classifier, single: frozenset[str], many: frozenset[str]) -> Grouped:
    """Sort the links of ``data`` into a model's link fields (``single``: one Ref, ``many``: a list),
    collections and actions; the rest stay links, exactly as sent. Links without an href are skipped."""
    grouped = Grouped()
    for item in data.get("links") or []:
        raw_href = item.get("href")
        if not raw_href:
            continue
        href = str(raw_href)
        rel_text = text_of(item, "rel")
        rel = (rel_text or "").lower()
        if rel == "alternate":
            continue  # this resource itself, in its other representation
        path, query = path_and_query(href)
        if rel not in _NAVIGATION or _ACTION_QUERY.search(query):
            name = action_name(rel_text, path)
            if name not in grouped.actions:
                grouped.actions.append(name)
            continue
        kind, is_single = registry.classify(path)
        target = registry.link_field(kind) if is_single else None
        if target is not None and target not in single and target + "s" in many:
            target += "s"  # several of a kind: restore_point -> restore_points
        if target is not None and target in many:
            listed = grouped.related.setdefault(target, [])
            assert isinstance(listed, list)
            listed.append(Ref(name=text_of(item, "name"), href=href))
            continue
        if target is not None and target in single and target not in grouped.related:
            grouped.related[target] = Ref(name=text_of(item, "name"), href=href)
            continue
        if not is_single and kind in ("Collection", "VmRestorePointMounts"):
            key = snake(path.rstrip("/").rsplit("/", 1)[-1])
            if key not in grouped.collections:
                grouped.collections[key] = href
                continue
        grouped.other.append(Link(rel=rel_text, href=href, name=text_of(item, "name"), type=text_of(item, "type")))
    return grouped


def _canonical_href(href: str | None, em_type: str, segments: tuple[str, ...], guid: str | None) -> bool:
    """Is ``href`` just ``…/api/<segment>/<id>`` (with or without ``?format=Entity``)?"""
    if not href or not guid:
        return False
    path_text, query = path_and_query(href)
    if query and query.lower() != "format=entity":
        return False
    path = path_text.rstrip("/").split("/")
    return (
        len(path) >= 3
        and path[-1].lower() == guid
        and path[-2].lower() in {segment.lower() for segment in segments}
        and path[-3].lower() == "api"
    )


_BASE = frozenset(Entity.model_fields) | {"kind"}
Converter = Callable[..., Any]  # (data, *keys) -> value


def _converter(annotation: Any) -> Converter | None:
    """How a field of this declared type is read: by its non-``None`` type (``int | None`` → int).

    ``None`` for model-typed fields (``Ref``, ``list[Ref]``, ``list[JobInclude]``): links or ``derive`` fill
    those, not EM's scalars.
    """
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if annotation == UtcTimestamp:
        return timestamp_of
    while typing.get_origin(annotation) is typing.Annotated:  # a constrained str, int, ...
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is list:
        return None  # lists are links (Refs) or what derive builds (a job's includes, its source jobs)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return None  # a link (Ref) is not read as a scalar
    if annotation is bool:
        return bool_of
    if annotation is int:
        return int_of
    if annotation is float:
        return float_of
    if annotation is str or (
        typing.get_origin(annotation) is typing.Literal and all(isinstance(a, str) for a in typing.get_args(annotation))
    ):
        return text_of
    raise TypeError(f"no reader for fields of type {annotation!r}: give the registry row a reader of its own")


@dataclass(frozen=True)
class EntityReader:
    """Reads one entity of ``model``: identity, grouped links, then each other field from its source keys.

    ``sources`` names EM's spellings of a field, first match wins (default: the field's name);
    ``derive(values, data)`` computes or tidies fields from those read and from EM's data (e.g. the platform
    of a VM's ref, a job's schedule in words).
    """

    model: type[Entity]
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    derive: Callable[[dict[str, Any], Data], dict[str, Any]] | None = None

    @cached_property
    def plan(self) -> list[tuple[str, tuple[str, ...], Converter]]:
        """(field, source keys, converter) for every data field beyond the base ones, worked out once."""
        hints = typing.get_type_hints(self.model, include_extras=True)
        unknown = set(self.sources) - set(self.model.model_fields)
        if unknown:
            raise TypeError(f"{self.model.__name__} has no field(s) {', '.join(sorted(unknown))}")
        plan = []
        for name in self.model.model_fields:
            if name in _BASE:
                continue
            convert = _converter(hints[name])
            if convert is not None:
                plan.append((name, self.sources.get(name, (name,)), convert))
        return plan

    @cached_property
    def link_fields(self) -> tuple[frozenset[str], frozenset[str]]:
        """The model's fields that links fill: (one Ref each, a list of Refs each)."""
        hints = typing.get_type_hints(self.model)
        single, many = set(), set()
        for name in self.model.model_fields:
            if name in _BASE:
                continue
            args = set(typing.get_args(hints[name])) - {type(None)}
            if hints[name] is Ref or args == {Ref}:
                single.add(name)
            elif any(typing.get_args(arg) == (Ref,) for arg in args) or typing.get_args(hints[name]) == (Ref,):
                many.add(name)
        return frozenset(single), frozenset(many)

    def __call__(self, data: Data, registry: Classifier, em_type: str, segments: tuple[str, ...]) -> Entity:
        uid = text_of(data, "uid")
        href = text_of(data, "href")
        guid = guid_from(uid, href)
        single, many = self.link_fields
        grouped = group_links(data, registry, single, many)
        values: dict[str, Any] = {
            "id": guid,
            "name": text_of(data, "name"),
            "uid": None if uid is not None and guid and uid.lower() == f"urn:veeam:{em_type}:{guid}".lower() else uid,
            "href": None if _canonical_href(href, em_type, segments, guid) else href,
            "collections": grouped.collections or None,
            "actions": grouped.actions or None,
            "other_links": grouped.other or None,
            **grouped.related,
        }
        for name, keys, convert in self.plan:
            values[name] = convert(data, *keys)
        if self.derive is not None:
            values.update(self.derive(values, data))
        return self.model(**values)


def entity_ref(data: Data) -> EntityRef:
    uid = text_of(data, "uid")
    href = text_of(data, "href") or ""
    declared = text_of(data, "type")
    target = declared[: -len("Reference")] if declared and declared.endswith("Reference") else declared
    return EntityRef(type=target, id=guid_from(uid, href), name=text_of(data, "name"), href=href)


def entity_references(data: Data) -> EntityReferences:
    items = data.get("ref", data.get("refs")) or []
    if isinstance(items, dict):
        items = [items]
    refs = [entity_ref(item) for item in items if isinstance(item, dict) and item.get("href")]
    return EntityReferences(href=text_of(data, "href"), refs=refs)


def mounts(data: Data) -> VmRestorePointMounts:
    items = data.get("vm_restore_point_mount", data.get("vm_restore_point_mounts")) or []
    if isinstance(items, dict):
        items = [items]
    result = []
    for item in items:
        if not isinstance(item, dict):
            continue
        roots = item.get("fs_roots") or []
        if isinstance(roots, dict):
            roots = [roots]
        result.append(
            VmRestorePointMount(
                href=text_of(item, "href"),
                other_links=links_of(item) or None,
                fs_roots=[r for r in roots if isinstance(r, dict)],
            )
        )
    return VmRestorePointMounts(href=text_of(data, "href"), mounts=result)


def generic(data: Data, root: str | None) -> GenericResource:
    return GenericResource(
        root=root or text_of(data, "type"),
        href=text_of(data, "href"),
        links=links_of(data),
        fields={k: v for k, v in data.items() if k not in ("href", "type", "links")},
    )

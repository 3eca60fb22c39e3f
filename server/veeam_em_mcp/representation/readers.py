"""From a normalised EM document to models: scalar readers and the generic entity reader.

An entity is read field by field from the normalised data (``parse``): each model field takes the first
of its source keys that EM sent (by default the field's own name; a registry row adds EM's other
spellings, e.g. ``creation_time_utc`` for ``creation_time``), converted by the field's declared type.
Values EM did not send stay ``None``; nothing is guessed.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..models.resources import (
    Entity,
    EntityRef,
    EntityReferences,
    GenericResource,
    Link,
    VmRestorePointMount,
    VmRestorePointMounts,
)
from .ids import guid_from

Data = Mapping[str, Any]


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
    links: list[Link] = []
    for item in data.get("links") or []:
        href = item.get("href")
        if not href:
            continue
        links.append(
            Link(rel=text_of(item, "rel"), href=str(href), name=text_of(item, "name"), type=text_of(item, "type"))
        )
    return links


def base_fields(data: Data) -> dict[str, Any]:
    """What every entity has: its identity (href, type, id, uid, name) and its links."""
    uid = text_of(data, "uid")
    href = text_of(data, "href")
    return {
        "href": href,
        "type": text_of(data, "type"),
        "links": links_of(data),
        "id": guid_from(uid, href),
        "uid": uid,
        "name": text_of(data, "name"),
    }


_BASE = frozenset(Entity.model_fields) | {"kind"}
Converter = Callable[..., Any]  # (data, *keys) -> value


def _converter(annotation: Any) -> Converter:
    """How a field of this declared type is read: by its non-``None`` type (``int | None`` → int)."""
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    while typing.get_origin(annotation) is typing.Annotated:  # UtcTimestamp = Annotated[str, ...]
        annotation = typing.get_args(annotation)[0]
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
    """Reads one entity of ``model``: base fields, then each other field from its source keys.

    ``sources`` names EM's spellings of a field, first match wins (default: the field's name);
    ``derive`` computes fields EM does not send from those it does (e.g. the platform of a VM's ref).
    """

    model: type[Entity]
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    @cached_property
    def plan(self) -> list[tuple[str, tuple[str, ...], Converter]]:
        """(field, source keys, converter) for every field beyond the base ones, worked out once."""
        hints = typing.get_type_hints(self.model, include_extras=True)
        unknown = set(self.sources) - set(self.model.model_fields)
        if unknown:
            raise TypeError(f"{self.model.__name__} has no field(s) {', '.join(sorted(unknown))}")
        return [
            (name, self.sources.get(name, (name,)), _converter(hints[name]))
            for name in self.model.model_fields
            if name not in _BASE
        ]

    def __call__(self, data: Data) -> Entity:
        values = base_fields(data)
        for name, keys, convert in self.plan:
            values[name] = convert(data, *keys)
        if self.derive is not None:
            values.update(self.derive(values))
        return self.model(**values)


def entity_ref(data: Data) -> EntityRef:
    return EntityRef(**base_fields(data))


def entity_references(data: Data) -> EntityReferences:
    items = data.get("ref", data.get("refs")) or []
    if isinstance(items, dict):
        items = [items]
    refs = [entity_ref(item) for item in items if isinstance(item, dict)]
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
                type=text_of(item, "type"),
                links=links_of(item),
                fs_roots=[r for r in roots if isinstance(r, dict)],
            )
        )
    return VmRestorePointMounts(href=text_of(data, "href"), mounts=result)


def generic(data: Data, root: str | None) -> GenericResource:
    return GenericResource(
        root=root or text_of(data, "type"),
        href=text_of(data, "href"),
        type=text_of(data, "type"),
        links=links_of(data),
        fields={k: v for k, v in data.items() if k not in ("href", "type", "links")},
    )

"""EM's XML and JSON, read into one normalised shape and then into the models.

Real servers differ from the docs and from each other: XML or JSON, PascalCase (v12) or camelCase
(v13) JSON keys, ``CreationTimeUTC`` vs ``CreationTimeUtc``, a UTF-8 BOM, attributes in any order,
lists that are bare arrays or wrapped in a same-named object, a single ``<Link>`` that is not a
list. Everything is folded here, once, so the rest of the package sees a single shape:
snake_case keys, no namespaces or attribute markers, ``links`` always a list.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import xmltodict

from .errors import HtmlInsteadOfApi, MalformedResponse
from .models import (
    AnyResource,
    Backup,
    BackupFile,
    BackupServer,
    EntityRef,
    EntityReferences,
    GenericResource,
    Job,
    Link,
    ResourceList,
    RestorePoint,
    VmRestorePoint,
    VmRestorePointMount,
    VmRestorePointMounts,
    platform_from_hierarchy_ref,
)

_BOM = "\ufeff"
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Elements that are always list items even when only one is present.
_LIST_ITEMS = frozenset({"Link", "Ref", "DirectoryEntry"})
# Control and bidirectional-override characters: EM text (VM names, descriptions, paths) reaches
# a model, and such characters can hide or reorder what a person reviewing the answer sees.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_DTD = re.compile(r"<!(doctype|entity)", re.IGNORECASE)


@dataclass(frozen=True)
class Document:
    """A parsed EM body: ``root`` is the XML root element (``None`` for JSON, which has none)."""

    root: str | None
    data: dict[str, Any]


@lru_cache(maxsize=1024)
def snake(name: str) -> str:
    """``CreationTimeUTC``/``creationTimeUtc`` → ``creation_time_utc``; ``UID``/``uid`` → ``uid``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.replace("-", "_").lower()


@lru_cache(maxsize=1024)
def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1].lstrip("@")


def decode_text(body: bytes) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedResponse(
            f"Enterprise Manager's answer is not valid UTF-8 ({exc.reason} at byte {exc.start})."
        ) from None
    return text[1:] if text.startswith(_BOM) else text


def parse(body: bytes, content_type: str = "") -> Document:
    """Parse an EM body (XML or JSON, decided by content type and then by the first character)."""
    text = decode_text(body).lstrip()
    if not text:
        raise MalformedResponse("Enterprise Manager sent an empty body where a resource was expected.")
    kind = content_type.lower()
    if "json" in kind or ("xml" not in kind and text[0] in "{["):
        return parse_json(text)
    return parse_xml(text)


def parse_json(text: str) -> Document:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedResponse(
            f"Enterprise Manager sent malformed JSON ({exc.msg} at line {exc.lineno} column {exc.colno})."
        ) from None
    if not isinstance(value, dict):
        raise MalformedResponse("Enterprise Manager sent JSON that is not an object.")
    return Document(root=None, data=_normalise_mapping(value))


def _force_list(path: list[tuple[str, Any]], key: str, value: Any) -> bool:
    local = _local(key)
    if local in _LIST_ITEMS:
        return True
    # Plural containers (VmRestorePoints > VmRestorePoint) hold lists even of one item.
    return bool(path) and _local(path[-1][0]) in (local + "s", local + "es")


def parse_xml(text: str) -> Document:
    head = text[:4096].lower()
    # Searched in the whole body, not only its head: comments may precede a DTD by any length, and how
    # xmltodict treats entities varies between its versions (0.14 drops them silently, 1.0 raises).
    if _DTD.search(text):
        if "<html" in head:
            raise HtmlInsteadOfApi()
        # Entity declarations are the billion-laughs and XXE vectors; EM never sends any.
        raise MalformedResponse("Enterprise Manager's XML declares a DTD or entities; refused to parse it.")
    if head.startswith("<html") or "<html" in head[:256]:
        raise HtmlInsteadOfApi()
    try:
        parsed = xmltodict.parse(text, force_list=_force_list, disable_entities=True)
    except ValueError as exc:  # raised by xmltodict for entity declarations
        raise MalformedResponse(f"Enterprise Manager's XML was refused: {exc}.") from None
    except Exception as exc:  # expat.ExpatError and friends
        raise MalformedResponse(f"Enterprise Manager sent malformed XML ({exc}).") from None
    if not isinstance(parsed, dict) or len(parsed) != 1:
        raise MalformedResponse("Enterprise Manager sent XML without a single root element.")
    root_key, body = next(iter(parsed.items()))
    data = _normalise_mapping(body) if isinstance(body, dict) else {}
    return Document(root=_local(root_key), data=data)


def _normalise_mapping(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith(("@xmlns", "xmlns")):
            continue
        local = "value" if key == "#text" else _local(key)
        name = snake(local)
        if name == "links":
            out["links"] = _links(value)
            continue
        out[name] = _normalise_value(local, value)
    return out


def clean(value: str) -> str:
    """EM text without control or bidirectional-override characters.

    isprintable() is False for every character _UNSAFE removes (C0/C1 controls, bidi and zero-width
    format characters), so the common clean string skips the regex.
    """
    return value if value.isprintable() else _UNSAFE.sub("", value)


def _normalise_value(local: str, value: Any) -> Any:
    if isinstance(value, dict):
        # Same-name or plural wrapper around a list: {"Refs": {"Refs": [...]}}, {"X s": {"X": [...]}}.
        if len(value) == 1:
            ((inner_key, inner),) = value.items()
            inner_local = _local(inner_key)
            if isinstance(inner, list) and (
                inner_local == local or local in (inner_local + "s", inner_local + "es") or inner_local in _LIST_ITEMS
            ):
                return [_normalise_value(inner_local, item) for item in inner]
        return _normalise_mapping(value)
    if isinstance(value, list):
        return [_normalise_value(local, item) for item in value]
    if isinstance(value, str):
        return clean(value)
    return value


def _links(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, dict):
        if len(value) == 1 and _local(next(iter(value))) in ("Link", "Links", "links", "link"):
            value = next(iter(value.values()))
        else:
            value = [value]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return []
    return [_normalise_mapping(item) for item in value if isinstance(item, dict)]


# --- from the normalised shape to models -------------------------------------------------


def guid_from(uid: str | None, href: str | None) -> str | None:
    if uid:
        match = _GUID.search(uid.rsplit(":", 1)[-1])
        if match:
            return match.group(0).lower()
    if href:
        path = urlsplit(href).path
        found = _GUID.findall(path)
        if found:
            return str(found[-1]).lower()
    return None


def _str(data: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, dict):  # <Description /> or an element with attributes and text
            value = value.get("value")
            if value is None:
                continue
        return str(value)
    return None


def _links_of(data: dict[str, Any]) -> list[Link]:
    links: list[Link] = []
    for item in data.get("links") or []:
        href = item.get("href")
        if not href:
            continue
        links.append(Link(rel=_str(item, "rel"), href=str(href), name=_str(item, "name"), type=_str(item, "type")))
    return links


def _base(data: dict[str, Any]) -> dict[str, Any]:
    uid = _str(data, "uid")
    href = _str(data, "href")
    return {
        "href": href,
        "type": _str(data, "type"),
        "links": _links_of(data),
        "id": guid_from(uid, href),
        "uid": uid,
        "name": _str(data, "name"),
    }


def vm_restore_point(data: dict[str, Any]) -> VmRestorePoint:
    ref = _str(data, "hierarchy_obj_ref")
    return VmRestorePoint(
        **_base(data),
        vm_name=_str(data, "vm_name"),
        vm_display_name=_str(data, "vm_display_name"),
        creation_time=_str(data, "creation_time_utc", "creation_time"),
        algorithm=_str(data, "algorithm"),
        point_type=_str(data, "point_type"),
        hierarchy_obj_ref=ref,
        platform=platform_from_hierarchy_ref(ref),
    )


def restore_point(data: dict[str, Any]) -> RestorePoint:
    return RestorePoint(**_base(data), backup_date=_str(data, "backup_date_utc", "backup_date"))


def _int(data: dict[str, Any], key: str) -> int | None:
    text = _str(data, key)
    return int(text) if text not in (None, "") else None


def _float(data: dict[str, Any], key: str) -> float | None:
    text = _str(data, key)
    return float(text) if text not in (None, "") else None


def _bool(data: dict[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text == "true" else False if text == "false" else None


def backup_server(data: dict[str, Any]) -> BackupServer:
    return BackupServer(
        **_base(data),
        description=_str(data, "description"),
        port=_int(data, "port"),
        version=_str(data, "version"),
        wcf_port=_int(data, "wcf_port"),
        vbr_certificate_thumbprint=_str(data, "vbr_certificate_thumbprint"),
    )


def backup_file(data: dict[str, Any]) -> BackupFile:
    return BackupFile(
        **_base(data),
        file_path=_str(data, "file_path"),
        file_type=_str(data, "file_type"),
        backup_size=_int(data, "backup_size"),
        data_size=_int(data, "data_size"),
        deduplication_ratio=_float(data, "deduplication_ratio"),
        compress_ratio=_float(data, "compress_ratio"),
        creation_time=_str(data, "creation_time_utc", "creation_time"),
    )


def backup(data: dict[str, Any]) -> Backup:
    return Backup(**_base(data), platform=_str(data, "platform"), backup_type=_str(data, "backup_type"))


def job(data: dict[str, Any]) -> Job:
    return Job(
        **_base(data),
        job_type=_str(data, "job_type"),
        platform=_str(data, "platform"),
        description=_str(data, "description"),
        schedule_configured=_bool(data, "schedule_configured"),
        schedule_enabled=_bool(data, "schedule_enabled"),
        next_run=_str(data, "next_run"),
    )


def entity_ref(data: dict[str, Any]) -> EntityRef:
    return EntityRef(**_base(data))


def entity_references(data: dict[str, Any]) -> EntityReferences:
    items = data.get("ref", data.get("refs")) or []
    if isinstance(items, dict):
        items = [items]
    return EntityReferences(
        href=_str(data, "href"), refs=[entity_ref(item) for item in items if isinstance(item, dict)]
    )


def mounts(data: dict[str, Any]) -> VmRestorePointMounts:
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
                href=_str(item, "href"),
                type=_str(item, "type"),
                links=_links_of(item),
                fs_roots=[r for r in roots if isinstance(r, dict)],
            )
        )
    return VmRestorePointMounts(href=_str(data, "href"), mounts=result)


def generic(data: dict[str, Any], root: str | None) -> GenericResource:
    fields = {k: v for k, v in data.items() if k not in ("href", "type", "links")}
    return GenericResource(
        root=root or _str(data, "type"),
        href=_str(data, "href"),
        type=_str(data, "type"),
        links=_links_of(data),
        fields=fields,
    )


_ENTITY_BUILDERS: dict[str, Any] = {
    "VmRestorePoint": vm_restore_point,
    "RestorePoint": restore_point,
    "BackupServer": backup_server,
    "BackupFile": backup_file,
    "Backup": backup,
    "Job": job,
}
_PLURALS = {name + "s": name for name in _ENTITY_BUILDERS}


EntityModel = VmRestorePoint | RestorePoint | BackupServer | BackupFile | Backup | Job | GenericResource


def entity(kind: str, data: dict[str, Any]) -> EntityModel:
    builder = _ENTITY_BUILDERS.get(kind)
    return builder(data) if builder else generic(data, kind)


def to_resource(doc: Document, expected: str | None = None) -> AnyResource:
    """Build the model for a parsed body, trusting the body's own root/Type before ``expected``.

    ``expected`` is what the href's path says (e.g. ``VmRestorePoint``): JSON bodies have no root
    element, and a ``Type`` may be missing.
    """
    data = doc.data
    declared = doc.root or _str(data, "type") or ""
    try:
        if declared == "EntityRef" or declared.endswith("Reference"):
            return entity_ref(data)
        if (
            declared == "EntityReferences"
            or declared.endswith("ReferenceList")
            or (not declared and ("refs" in data or "ref" in data))
        ):
            return entity_references(data)
        if declared in ("VmRestorePointMounts", "VmRestorePointMountList") or expected == "VmRestorePointMounts":
            return mounts(data)
        if declared in _ENTITY_BUILDERS:
            return entity(declared, data)
        list_key = _entity_list_key(data)
        if declared in _PLURALS or (not declared and list_key):
            item_kind = _PLURALS.get(declared) or _PLURALS.get(_pascal(list_key or ""), "")
            # JSON names the list by the plural (BackupFiles); XML children by the singular.
            items = data.get(snake(declared) if declared else list_key or "") or data.get(snake(item_kind or "-"))
            return ResourceList(
                href=_str(data, "href"),
                item_type=item_kind or None,
                items=[entity(item_kind, item) for item in (items or []) if isinstance(item, dict)],
            )
        if not declared and expected in _ENTITY_BUILDERS:
            return entity(expected, data)
    except ValueError as exc:
        raise MalformedResponse(
            f"Enterprise Manager's {declared or expected or 'resource'} is malformed: {exc}"
        ) from None
    return generic(data, doc.root)


def _pascal(snake_name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake_name.split("_"))


def _entity_list_key(data: dict[str, Any]) -> str | None:
    for key, value in data.items():
        if isinstance(value, list) and _pascal(key) in _PLURALS:
            return key
    return None

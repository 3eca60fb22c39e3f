"""EM's XML and JSON bodies, read into one normalised shape (a ``Document``).

Real servers differ from the docs and from each other: XML or JSON, PascalCase (v12) or camelCase
(v13) JSON keys, a UTF-8 BOM, attributes in any order, lists that are bare arrays or wrapped in a
same-named object, a single ``<Link>`` that is not a list. Everything is folded here, once, so the
rest of the package sees a single shape: snake_case keys, no namespaces or attribute markers,
``links`` always a list. What the shape means (which model it is) is ``readers`` and ``registry``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import xmltodict

from ..errors import HtmlInsteadOfApi, MalformedResponse
from ..text import clean

_BOM = "\ufeff"
# Elements that are always list items even when only one is present.
_LIST_ITEMS = frozenset({"Link", "Ref", "DirectoryEntry"})
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

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
from xml.etree import ElementTree

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


def parse_xml(text: str) -> Document:
    head = text[:4096].lower()
    # Searched in the whole body, not only its head: comments may precede a DTD by any length.
    if _DTD.search(text):
        if "<html" in head:
            raise HtmlInsteadOfApi()
        # Entity declarations are the billion-laughs and XXE vectors; EM never sends any. Without a DTD the
        # parser knows only the five predefined entities and refuses any other reference.
        raise MalformedResponse("Enterprise Manager's XML declares a DTD or entities; refused to parse it.")
    if head.startswith("<html") or "<html" in head[:256]:
        raise HtmlInsteadOfApi()
    try:
        root = ElementTree.fromstring(text)  # noqa: S314  # DTDs refused above: no entity can be declared
    except ElementTree.ParseError as exc:
        raise MalformedResponse(f"Enterprise Manager sent malformed XML ({exc}).") from None
    tag = _tag(root.tag)
    data = _xml_node(root, tag, fold=False)  # the root stays a mapping: <VmRestorePoints> keeps its key
    return Document(root=tag, data=data if isinstance(data, dict) else {})


@lru_cache(maxsize=1024)
def _tag(name: str) -> str:
    """``{http://www.veeam.com/ent/v1.0}VmRestorePoint`` → ``VmRestorePoint`` (namespaces do not matter here)."""
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


@lru_cache(maxsize=1024)
def _is_plural(container: str, item: str) -> bool:
    """``VmRestorePoints`` of ``VmRestorePoint``, ``Repositories`` of ``Repository``: EM's list elements."""
    return container in (item + "s", item + "es") or (item.endswith("y") and container == item[:-1] + "ies")


def _xml_node(element: ElementTree.Element, tag: str, *, fold: bool = True) -> Any:
    """The normalised value of one element, read straight from the tree (no intermediate dict tree).

    Attributes and child elements become keys; an element with text only becomes its text (``None`` when
    empty); repeated children, ``Link``/``Ref`` items and the items of a plural container
    (``VmRestorePoints`` > ``VmRestorePoint``) become lists; a container holding only such a list
    becomes the list; ``Links`` becomes the list of its links.
    """
    attributes = element.attrib
    text = element.text.strip() if element.text else ""
    if not attributes and len(element) == 0:
        return (clean(text) if text else None) if fold else {}
    groups: dict[str, list[ElementTree.Element]] = {}
    for child in element:
        groups.setdefault(_tag(child.tag), []).append(child)
    if fold and not attributes and not text and len(groups) == 1:
        ((inner, children),) = groups.items()
        plural = _is_plural(tag, inner)
        if (len(children) > 1 or plural or inner in _LIST_ITEMS) and (inner == tag or plural or inner in _LIST_ITEMS):
            return [_xml_node(child, inner) for child in children]  # a container of one list is the list
    out: dict[str, Any] = {snake(_tag(key)): clean(value) for key, value in attributes.items()}
    if text:
        out["value"] = clean(text)
    for inner, children in groups.items():
        name = snake(inner)
        if name == "links":
            out["links"] = [
                {snake(_tag(key)): clean(value) for key, value in link.attrib.items()}
                for links in children
                for link in links
                if _tag(link.tag) in ("Link", "link")
            ]
        elif len(children) > 1 or inner in _LIST_ITEMS or _is_plural(tag, inner):
            out[name] = [_xml_node(child, inner) for child in children]
        else:
            out[name] = _xml_node(children[0], inner)
    return out


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

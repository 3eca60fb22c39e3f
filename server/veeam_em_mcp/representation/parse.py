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
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from xml.etree import ElementTree

from ..errors import HtmlInsteadOfApi, MalformedResponse
from ..text import clean, needs_cleaning
from .collector import gc_paused

_BOM = "\ufeff"
# Elements that are always list items even when only one is present.
_LIST_ITEMS = LIST_ITEMS = frozenset({"Link", "Ref", "DirectoryEntry"})
_DTD = re.compile(r"<!(doctype|entity)", re.IGNORECASE)
# No EM resource is nested more than about a dozen levels (a job's schedule and members); a body nested
# deeper is refused before it can exhaust Python's recursion (a 20,000-level document would).
MAX_DEPTH = 64


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
    with gc_paused():
        try:
            return _parse(body, content_type)
        except (_TooDeep, RecursionError):
            raise MalformedResponse(
                f"Enterprise Manager sent a document nested more than {MAX_DEPTH} levels deep, which no EM resource "
                "is; refused to read it."
            ) from None


class _TooDeep(Exception):
    """A document nested deeper than ``MAX_DEPTH``."""


def _parse(body: bytes, content_type: str) -> Document:
    text = decode_text(body).lstrip()
    if not text:
        raise MalformedResponse("Enterprise Manager sent an empty body where a resource was expected.")
    kind = content_type.lower()
    if "json" in kind or ("xml" not in kind and text[0] in "{["):
        return parse_json(text, body)
    return parse_xml(text, body)


def _keep(value: str) -> str:
    return value


def parse_json(text: str, body: bytes | None = None) -> Document:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedResponse(
            f"Enterprise Manager sent malformed JSON ({exc.msg} at line {exc.lineno} column {exc.colno})."
        ) from None
    if not isinstance(value, dict):
        raise MalformedResponse("Enterprise Manager sent JSON that is not an object.")
    # One search of the whole body instead of one check per string: most bodies hold nothing to clean.
    scrub = scrubber(text, body)
    return Document(root=None, data=_normalise_mapping(value, scrub))


def parse_xml(text: str, body: bytes | None = None) -> Document:
    root = xml_tree(text)
    tag = _tag(root.tag)
    scrub = scrubber(text, body)  # one search of the body, not one check per string
    data = _xml_node(root, tag, scrub, fold=False)  # the root stays a mapping: <VmRestorePoints> keeps its key
    return Document(root=tag, data=data if isinstance(data, dict) else {})


def scrubber(text: str, body: bytes | None = None) -> Callable[[str], str]:
    """What every string of this body goes through: ``clean`` when the body holds anything to clean (``body``:
    the bytes ``text`` was decoded from, checked as they are)."""
    # The bytes when they are ASCII (no encoding again); else the text already decoded, not decoded a second time.
    return clean if needs_cleaning(body if body is not None and body.isascii() else text) else _keep


def xml_tree(text: str) -> ElementTree.Element:
    """The element tree of an XML body, after the safety checks every XML body passes (no DTD, no HTML)."""
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
        return ElementTree.fromstring(text)  # noqa: S314  # DTDs refused above: no entity can be declared
    except ElementTree.ParseError as exc:
        raise MalformedResponse(f"Enterprise Manager sent malformed XML ({exc}).") from None


@lru_cache(maxsize=1024)
def _tag(name: str) -> str:
    """``{http://www.veeam.com/ent/v1.0}VmRestorePoint`` → ``VmRestorePoint`` (namespaces do not matter here)."""
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


@lru_cache(maxsize=1024)
def _key(name: str) -> str:
    """An XML attribute or element name as a key: ``{ns}CreationTimeUTC`` → ``creation_time_utc``."""
    return snake(_tag(name))


@lru_cache(maxsize=1024)
def _json_key(key: str) -> tuple[str, str] | None:
    """A JSON key's local name and its snake_case key (``#text`` is an element's text: ``value``);
    ``None`` for a namespace declaration (``@xmlns``…), which is no data."""
    if key.startswith(("@xmlns", "xmlns")):
        return None
    local = "value" if key == "#text" else _local(key)
    return local, snake(local)


@lru_cache(maxsize=1024)
def _is_plural(container: str, item: str) -> bool:
    """``VmRestorePoints`` of ``VmRestorePoint``, ``Repositories`` of ``Repository``: EM's list elements."""
    return container in (item + "s", item + "es") or (item.endswith("y") and container == item[:-1] + "ies")


def _xml_node(
    element: ElementTree.Element, tag: str, scrub: Callable[[str], str], *, fold: bool = True, depth: int = 0
) -> Any:
    """The normalised value of one element, read straight from the tree (no intermediate dict tree).

    Attributes and child elements become keys; an element with text only becomes its text (``None`` when
    empty); repeated children, ``Link``/``Ref`` items and the items of a plural container
    (``VmRestorePoints`` > ``VmRestorePoint``) become lists; a container holding only such a list
    becomes the list; ``Links`` becomes the list of its links.
    """
    if depth > MAX_DEPTH:
        raise _TooDeep
    attributes = element.attrib
    text = element.text.strip() if element.text else ""
    if not attributes and len(element) == 0:
        return (scrub(text) if text else None) if fold else {}
    groups: dict[str, list[ElementTree.Element]] = {}
    for child in element:
        groups.setdefault(_tag(child.tag), []).append(child)
    if fold and not attributes and not text and len(groups) == 1:
        ((inner, children),) = groups.items()
        plural = _is_plural(tag, inner)
        if (len(children) > 1 or plural or inner in _LIST_ITEMS) and (inner == tag or plural or inner in _LIST_ITEMS):
            return [_xml_node(child, inner, scrub, depth=depth + 1) for child in children]  # one list: the list
    keep = scrub is _keep
    if keep:
        out: dict[str, Any] = {_key(key): value for key, value in attributes.items()}
    else:
        out = {_key(key): scrub(value) for key, value in attributes.items()}
    if text:
        out["value"] = text if keep else scrub(text)
    for inner, children in groups.items():
        name = snake(inner)
        if name == "links":
            out["links"] = [
                {_key(key): value if keep else scrub(value) for key, value in link.attrib.items()}
                for links in children
                for link in links
                if _tag(link.tag) in ("Link", "link")
            ]
        elif len(children) > 1 or inner in _LIST_ITEMS or _is_plural(tag, inner):
            out[name] = [_xml_node(child, inner, scrub, depth=depth + 1) for child in children]
        else:
            child = children[0]
            if not child.attrib and len(child) == 0:  # a leaf (most elements): its text, without a call
                leaf = child.text.strip() if child.text else ""
                out[name] = (leaf if keep else scrub(leaf)) if leaf else None
            else:
                out[name] = _xml_node(child, inner, scrub, depth=depth + 1)
    return out


def _normalise_mapping(raw: dict[str, Any], scrub: Callable[[str], str], depth: int = 0) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise _TooDeep
    out: dict[str, Any] = {}
    keep = scrub is _keep
    for key, value in raw.items():
        names = _json_key(key)
        if names is None:  # a namespace declaration
            continue
        local, name = names
        if name == "links":
            out["links"] = _links(value, scrub, depth + 1)
        elif value.__class__ is str:  # the common case first, without a call (hundreds of thousands per page)
            out[name] = value if keep else scrub(value)
        elif isinstance(value, (dict, list)):
            out[name] = _normalise_value(local, value, scrub, depth + 1)
        else:
            out[name] = value
    return out


def _normalise_value(local: str, value: Any, scrub: Callable[[str], str], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise _TooDeep
    if isinstance(value, dict):
        # Same-name or plural wrapper around a list: {"Refs": {"Refs": [...]}}, {"X s": {"X": [...]}}.
        if len(value) == 1:
            ((inner_key, inner),) = value.items()
            inner_local = _local(inner_key)
            if isinstance(inner, list) and (
                inner_local == local or local in (inner_local + "s", inner_local + "es") or inner_local in _LIST_ITEMS
            ):
                return [_normalise_value(inner_local, item, scrub, depth + 1) for item in inner]
        return _normalise_mapping(value, scrub, depth)
    if isinstance(value, list):
        return [_normalise_value(local, item, scrub, depth + 1) for item in value]
    if isinstance(value, str):
        return scrub(value)
    return value


def _links(value: Any, scrub: Callable[[str], str], depth: int) -> list[dict[str, Any]]:
    return [_normalise_mapping(item, scrub, depth + 1) for item in _links_list(value)]


# --- reading only some keys (representation.fields: whole-window reads) ------------------------------------

# How deep an entity's values sit in a QueryResult (QueryResult > Entities > list > item > value), so that the
# depth limit counts as it does when the whole body is normalised.
_ITEM_DEPTH = 4


def xml_tag(name: str) -> str:
    """An element's local name (``{ns}VmRestorePoint`` → ``VmRestorePoint``)."""
    return _tag(name)


def xml_key(name: str) -> str:
    """An element's or attribute's normalised key (``{ns}CreationTimeUTC`` → ``creation_time_utc``)."""
    return _key(name)


def xml_some(element: ElementTree.Element, wanted: frozenset[str], scrub: Callable[[str], str]) -> dict[str, Any]:
    """The normalised mapping of one entity element (as ``parse_xml`` makes it) restricted to the keys in
    ``wanted``: the other children are never turned into values. Attributes are always kept (a handful)."""
    keep = scrub is _keep
    out: dict[str, Any] = {_key(k): v if keep else scrub(v) for k, v in element.attrib.items()}
    tag = _tag(element.tag)
    seen: set[str] = set()
    for child in element:
        inner = _tag(child.tag)
        name = snake(inner)
        if name not in wanted:
            continue
        if name in seen or inner in _LIST_ITEMS or _is_plural(tag, inner):
            return _restrict(_xml_node(element, tag, scrub), wanted)  # repeated children: the full rules
        seen.add(name)
        if name == "links":
            out["links"] = [
                {_key(k): v if keep else scrub(v) for k, v in link.attrib.items()}
                for link in child
                if _tag(link.tag) in ("Link", "link")
            ]
        elif not child.attrib and len(child) == 0:
            leaf = child.text.strip() if child.text else ""
            out[name] = (leaf if keep else scrub(leaf)) if leaf else None
        else:
            out[name] = _xml_node(child, inner, scrub, depth=_ITEM_DEPTH)
    return out


def json_some(raw: dict[str, Any], wanted: frozenset[str], scrub: Callable[[str], str]) -> dict[str, Any]:
    """The normalised mapping of one JSON entity (as ``parse_json`` makes it) restricted to ``wanted`` keys."""
    out: dict[str, Any] = {}
    keep = scrub is _keep
    for key, value in raw.items():
        names = _json_key(key)
        if names is None or names[1] not in wanted:
            continue
        local, name = names
        if name == "links":
            out["links"] = _flat_links(value, scrub)
        elif value.__class__ is str:
            out[name] = value if keep else scrub(value)
        elif isinstance(value, (dict, list)):
            out[name] = _normalise_value(local, value, scrub, _ITEM_DEPTH)
        else:
            out[name] = value
    return out


def json_local(key: str) -> str | None:
    """A JSON key's local name, as the normaliser folds lists by it (``None`` for a namespace declaration)."""
    names = _json_key(key)
    return names[0] if names else None


def json_key(key: str) -> str | None:
    """A JSON key's normalised name (``CreationTimeUTC``/``creationTimeUtc`` → ``creation_time_utc``)."""
    names = _json_key(key)
    return names[1] if names else None


def normalise_json(local: str, value: Any, scrub: Callable[[str], str]) -> Any:
    """A JSON value normalised as ``parse_json`` does inside a body (a small part: the paging info)."""
    return _normalise_value(local, value, scrub, 1)


def normalise_xml(element: ElementTree.Element, scrub: Callable[[str], str]) -> Any:
    """An XML element normalised as ``parse_xml`` does inside a body (a small part: the paging info)."""
    return _xml_node(element, _tag(element.tag), scrub, depth=1)


def _restrict(data: Any, wanted: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k in wanted} if isinstance(data, dict) else {}


def _flat_links(value: Any, scrub: Callable[[str], str]) -> list[dict[str, Any]]:
    """``_links`` for links as EM sends them (flat objects of text): the same mappings, without a recursive
    walk per link (a page of a thousand entities carries thousands of links)."""
    listed = _links_list(value)
    out: list[dict[str, Any]] = []
    keep = scrub is _keep
    for item in listed:
        link: dict[str, Any] = {}
        for key, inner in item.items():
            names = _json_key(key)
            if names is None:
                continue
            if names[1] == "links" or (
                inner.__class__ is not str and inner is not None and not isinstance(inner, (int, float, bool))
            ):
                return _links(value, scrub, _ITEM_DEPTH)  # a link holding more than text: the full rules
            link[names[1]] = scrub(inner) if inner.__class__ is str and not keep else inner
        out.append(link)
    return out


def _links_list(value: Any) -> list[dict[str, Any]]:
    """The link objects of a JSON ``Links`` value, unwrapped as ``_links`` unwraps them."""
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
    return [item for item in value if isinstance(item, dict)]

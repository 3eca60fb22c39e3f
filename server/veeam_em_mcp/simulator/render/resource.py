"""The neutral shape of a response: a `Resource` (attributes, links, ordered child fields that may nest: `Node`,
`Items`, `Embedded`), as views describe it and the writers (xml_writer.py, json_writer.py) turn it into bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Scalar = str | int | float | bool | None


class Marker:
    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return self.label


# A field that is never written (neither in XML nor in any JSON dialect).
ABSENT = Marker("ABSENT")
# A field written as XML `xsi:nil="true"` and JSON `null` in every dialect.
NIL = Marker("NIL")


@dataclass(frozen=True, slots=True)
class Alias:
    """A key spelled differently in XML and JSON (`RetrySpecified` / `RetrySpecified1`, `Day` / `Days`)."""

    xml: str
    json: str


@dataclass(frozen=True, slots=True)
class Dual:
    """A value written differently in XML and JSON (a schedule `Time`, an empty credentials id)."""

    xml: Scalar
    json: Scalar


@dataclass(frozen=True, slots=True)
class Node:
    """A nested element: XML attributes and child elements; in JSON the children, then the attributes."""

    children: tuple[FieldT, ...] = ()
    attrs: tuple[tuple[str, Scalar | Dual], ...] = ()


@dataclass(frozen=True, slots=True)
class Items:
    """A list: XML repeats the element once per value (`item` None) or wraps each value in `<item>` inside
    one element (an empty list is then `<key />`); JSON writes a list either way."""

    values: tuple[Value, ...]
    item: str | None = None


@dataclass(frozen=True, slots=True)
class Embedded:
    """Resources inside an entity: XML `<key>` holding one element per resource, JSON `{json_key: [...]}`."""

    json_key: str
    resources: tuple[Resource, ...]


Value = Scalar | Marker | Dual | Node | Items | Embedded
Key = str | Alias
FieldT = tuple[Key, Value]


@dataclass(frozen=True, slots=True)
class Link:
    href: str
    rel: str
    type: str | None = None
    name: str | None = None


@dataclass(slots=True, kw_only=True)
class Resource:
    """One entity, reference or resource: element name, identity attributes, links and child fields."""

    element: str
    type: str | None
    href: str | None
    name: str | None = None
    uid: str | None = None
    links: list[Link] = field(default_factory=list)
    fields: list[FieldT] = field(default_factory=list)
    vm_display_name: str | None = None
    is_ref: bool = False
    # JSON keys written before all others (EM writes `IsRetry` first in session objects).
    json_first: tuple[str, ...] = ()
    # Extra root attributes after the identity ones (XML) / after the fields (JSON).
    attrs: list[tuple[str, Scalar]] = field(default_factory=list)
    # False: no `Links` key at all (resources embedded in an entity, report frames in the 9.5 dialect).
    has_links: bool = True


@dataclass(frozen=True, slots=True)
class Paging:
    page_num: int
    page_size: int
    pages_count: int
    links: list[Link]

"""The XML writer: the .NET XmlSerializer output of EM, built by string concatenation and escaped by hand.

`<?xml ... utf-8?>`, `xmlns:xsd`/`xmlns:xsi` first and the default namespace last on the root, entity attributes
`Href Type Name UID VmDisplayName`, reference attributes `UID Name Href Type`, link attributes `Href Name Type Rel`.
XML is the same in every dialect.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .resource import ABSENT, NIL, Alias, Dual, Embedded, FieldT, Items, Link, Marker, Node, Resource, Value

NS = "http://www.veeam.com/ent/v1.0"
XSD_XSI = 'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
XML_DECL = '<?xml version="1.0" encoding="utf-8"?>\n'
# A 1,000-item page escapes some 75,000 strings: a regex test lets the common clean ones through untouched,
# the others get str.replace (both faster than xml.sax.saxutils.escape's Python-level dict loop).
_ATTR_SPECIAL = re.compile(r'[&<>"\n\r\t]')


def attr(value: str) -> str:
    """Attribute escaping, as XmlSerializer writes it (quotes and line breaks as character references)."""
    if _ATTR_SPECIAL.search(value) is None:
        return value
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\n", "&#xA;").replace("\r", "&#xD;").replace("\t", "&#x9;"))


def escape(value: str) -> str:
    """Element text escaping (what xml.sax.saxutils.escape does)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _scalar_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # .NET prints 1.0 as "1" and 6.67 as "6.67".
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


class XmlWriter:
    """Writes resources as XML (with a byte-order mark when the server is configured to send one)."""

    def __init__(self, *, bom: bool) -> None:
        self.bom = bom

    def document(self, parts: list[str]) -> bytes:
        data = "".join(parts).encode("utf-8")
        return b"\xef\xbb\xbf" + data if self.bom else data

    def listing(self, out: list[str], element: str, items: Iterable[Resource], depth: int,
                root: bool = False) -> None:
        pad = "  " * depth
        head = f"{pad}<{element} {XSD_XSI} xmlns=\"{NS}\"" if root else f"{pad}<{element}"
        start = len(out)
        out.append(head + ">\n")
        n = len(out)
        for res in items:
            self.res(out, res, depth + 1)
        if len(out) == n:
            out[start] = head + " />\n"
        else:
            out.append(f"{pad}</{element}>\n")

    def res(self, out: list[str], res: Resource, depth: int, root: bool = False) -> None:
        pad = "  " * depth
        attrs: list[str] = []
        if root:
            attrs.append(XSD_XSI)
        if res.is_ref:
            if res.uid is not None:
                attrs.append(f'UID="{attr(res.uid)}"')
            if res.name is not None:
                attrs.append(f'Name="{attr(res.name)}"')
            if res.href is not None:
                attrs.append(f'Href="{attr(res.href)}"')
            if res.type is not None:
                attrs.append(f'Type="{res.type}"')
        else:
            if res.href is not None:
                attrs.append(f'Href="{attr(res.href)}"')
            if res.type is not None:
                attrs.append(f'Type="{res.type}"')
            if res.name is not None:
                attrs.append(f'Name="{attr(res.name)}"')
            if res.uid is not None:
                attrs.append(f'UID="{attr(res.uid)}"')
            if res.vm_display_name is not None:
                attrs.append(f'VmDisplayName="{attr(res.vm_display_name)}"')
        for key, value in res.attrs:
            if value is not None:
                attrs.append(f'{key}="{attr(_scalar_text(value))}"')
        if root:
            attrs.append(f'xmlns="{NS}"')
        element = ("EntityRef" if root else "Ref") if res.is_ref else res.element
        head = f"{pad}<{element} {' '.join(attrs)}" if attrs else f"{pad}<{element}"
        start = len(out)
        out.append(head + ">\n")
        n = len(out)
        self.links(out, res.links, depth + 1)
        self.fields(out, res.fields, depth + 1)
        if len(out) == n:
            out[start] = head + " />\n"
        else:
            out.append(f"{pad}</{element}>\n")

    def fields(self, out: list[str], fields: Iterable[FieldT], depth: int) -> None:
        for key, value in fields:
            self.value(out, key.xml if isinstance(key, Alias) else key, value, depth)

    def value(self, out: list[str], key: str, value: Value, depth: int) -> None:
        pad = "  " * depth
        if value is None or value is ABSENT:
            return
        if value is NIL:
            out.append(f'{pad}<{key} xsi:nil="true" />\n')
            return
        if isinstance(value, Dual):
            self.value(out, key, value.xml, depth)
        elif isinstance(value, Node):
            attrs = "".join(
                f' {k}="{attr(_scalar_text(x))}"' for k, v in value.attrs
                if (x := v.xml if isinstance(v, Dual) else v) is not None
            )
            start = len(out)
            out.append(f"{pad}<{key}{attrs}>\n")
            n = len(out)
            self.fields(out, value.children, depth + 1)
            if len(out) == n:
                out[start] = f"{pad}<{key}{attrs} />\n"
            else:
                out.append(f"{pad}</{key}>\n")
        elif isinstance(value, Items):
            if value.item is None:
                for item in value.values:
                    self.value(out, key, item, depth)
            elif not value.values:
                out.append(f"{pad}<{key} />\n")
            else:
                out.append(f"{pad}<{key}>\n")
                for item in value.values:
                    self.value(out, value.item, item, depth + 1)
                out.append(f"{pad}</{key}>\n")
        elif isinstance(value, Embedded):
            self.listing(out, key, value.resources, depth)
        elif isinstance(value, Marker):
            return
        else:
            text = _scalar_text(value)
            if text == "":
                out.append(f"{pad}<{key} />\n")
            else:
                out.append(f"{pad}<{key}>{escape(text)}</{key}>\n")

    @staticmethod
    def links(out: list[str], links: list[Link], depth: int) -> None:
        pad = "  " * depth
        if not links:
            return
        out.append(f"{pad}<Links>\n")
        for link in links:
            parts = [f'Href="{attr(link.href)}"']
            if link.name is not None:
                parts.append(f'Name="{attr(link.name)}"')
            if link.type is not None:
                parts.append(f'Type="{link.type}"')
            parts.append(f'Rel="{link.rel}"')
            out.append(f"{pad}  <Link {' '.join(parts)} />\n")
        out.append(f"{pad}</Links>\n")

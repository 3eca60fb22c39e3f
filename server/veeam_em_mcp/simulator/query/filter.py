"""EM's filter grammar: `field op value` with ops `== != < > <= >=`, `;` = AND (binds tighter), `,` = OR,
parentheses, values quoted (`"..."`, a quote inside doubled) or bare up to the next `;`, `,` or `)`; parsed to a
tree of `Cmp`, `And`, `Or`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..fields import QueryError

# --- filter syntax ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Cmp:
    field: str
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


Node = Cmp | And | Or

_OPS = ("==", "!=", "<=", ">=", "<", ">")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> QueryError:
        return QueryError(f"Invalid filter expression '{self.text}': {what} at position {self.pos}.")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self) -> Node:
        node = self.parse_or()
        if self.peek():
            raise self.fail(f"unexpected '{self.text[self.pos]}'")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.peek() == ",":
            self.pos += 1
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_factor()]
        while self.peek() == ";":
            self.pos += 1
            items.append(self.parse_factor())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_factor(self) -> Node:
        if self.peek() == "(":
            self.pos += 1
            node = self.parse_or()
            if self.peek() != ")":
                raise self.fail("missing ')'")
            self.pos += 1
            return node
        self.skip_ws()
        m = _IDENT.match(self.text, self.pos)
        if not m:
            raise self.fail("expected a field name")
        self.pos = m.end()
        self.skip_ws()
        op = next((o for o in _OPS if self.text.startswith(o, self.pos)), None)
        if op is None:
            raise self.fail(f"expected an operator after '{m.group()}'")
        self.pos += len(op)
        return Cmp(m.group(), op, self.parse_value())

    def parse_value(self) -> str:
        self.skip_ws()
        text = self.text
        if self.pos < len(text) and text[self.pos] == '"':
            out: list[str] = []
            i = self.pos + 1
            while True:
                j = text.find('"', i)
                if j < 0:
                    raise self.fail("unterminated quoted string")
                out.append(text[i:j])
                if text.startswith('"', j + 1):  # doubled quote = a literal quote
                    out.append('"')
                    i = j + 2
                    continue
                self.pos = j + 1
                return "".join(out)
        start = self.pos
        while self.pos < len(text) and text[self.pos] not in ";,()":
            self.pos += 1
        value = text[start:self.pos].strip()
        if not value:
            raise self.fail("expected a value")
        return value


def parse_filter(text: str) -> Node:
    """Parse an EM filter expression; raises QueryError when malformed."""
    return _Parser(text).parse()

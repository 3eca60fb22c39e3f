"""Pages a model can afford: fields shared by every item said once, and as many items as fit, measured once.

A page of restore points of one VM repeats the VM's name, platform, reference and backup server in
every item; ``share_fields`` moves such fields to the page (``shared``) and leaves them out of the
items. ``fit_items`` measures each item's JSON once and keeps the longest prefix that fits the
result size limit, so a page is never re-serialised per probe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from .budget import ResultBudget

M = TypeVar("M", bound=BaseModel)

# Identity fields are never shared: they name the item.
_NEVER_SHARED = frozenset({"id", "name", "uid", "href"})
ID_PLACEHOLDER = "{id}"


def share_fields(items: Sequence[M], never: Iterable[str] = ()) -> tuple[dict[str, Any], list[M]]:
    """(fields with one value in every item, the items without them); needs two items to share anything."""
    if len(items) < 2:
        return {}, list(items)
    excluded = _NEVER_SHARED | set(never)
    first = items[0]
    shared: dict[str, Any] = {}
    for name, declared in type(first).model_fields.items():
        if name in excluded or declared.is_required():  # a required field stays in its row, or the row is invalid
            continue
        value = getattr(first, name)
        if value is None or value == [] or value == {}:
            continue
        if all(getattr(item, name) == value for item in items[1:]):
            shared[name] = value
        elif name == "collections" and (template := _collections_template(items)) is not None:
            shared[name] = template
    if not shared:
        return {}, list(items)
    blank = dict.fromkeys(shared)
    dumped = {name: value.model_dump(mode="json", exclude_none=True) if isinstance(value, BaseModel) else value
              for name, value in shared.items()}
    return dumped, [item.model_copy(update=blank) for item in items]


def _collections_template(items: Sequence[BaseModel]) -> dict[str, str] | None:
    """``{"mounts": "/api/vmRestorePoints/{id}/mounts"}`` when every item's collections are that, with its id."""
    template: dict[str, str] | None = None
    for item in items:
        ident, collections = getattr(item, "id", None), getattr(item, "collections", None)
        if not ident or not isinstance(collections, dict):
            return None
        generic = {key: href.replace(ident, ID_PLACEHOLDER) for key, href in collections.items()}
        if template is None:
            template = generic
        elif generic != template or not all(ID_PLACEHOLDER in href for href in generic.values()):
            return None
    return template


def fit_items(budget: ResultBudget, envelope_chars: int, items: Sequence[BaseModel]) -> int:
    """How many of ``items`` (in order) fit beside an envelope of ``envelope_chars``: each item measured once."""
    room = budget.max_chars - envelope_chars
    count = 0
    for item in items:
        size = len(budget.json(item)) + (1 if count else 0)  # the comma between items
        if size > room:
            break
        room -= size
        count += 1
    return count

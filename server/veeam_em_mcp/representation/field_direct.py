"""JSON entities read by a function written for their key set: the commonest case of ``field_json.json_record``.

``json_record`` works an entity's keys out once per key set, but still walks them for every entity, fills a
mapping of normalised keys and hands it to ``fields.finish``, which looks each field up again. For a record
whose derive, if any, reads only the values read (``derived.VALUES_ONLY``: a VM point's display name left out
when it repeats the VM's name), and a body with nothing to clean, that walk is the same for every entity of a key set:
so it is written once as Python (as ``dataclasses`` writes a class's ``__init__``) and run per entity, taking
each wanted value by its raw key straight into the record. The source holds no text of EM's: the raw keys reach
the function as arguments of its factory. Whatever it cannot read exactly as ``finish`` would (a number where
text is wanted, a nested value, a link of another shape, an unknown converter) it hands back as ``MISS``, and
the general code reads that entity as before; tests/test_fields.py compares both with the generic reader in
every dialect.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from .derived import VALUES_ONLY
from .fields import SHARED_CHARS, Plan, R
from .ids import guid_from
from .parse import json_key
from .readers import NO_TIME, bool_of, float_of, int_of, text_of, timestamp_of

MISS: Any = object()  # "read this entity the general way"
_NO_DATA: Mapping[str, Any] = MappingProxyType({})  # what a VALUES_ONLY derive is given for the entity's data
Reader = Callable[[dict[str, Any]], Any]

# What each converter's value must be to be taken as it is (finish converts anything else: the general code).
_TEXT = """    if {v}.__class__ is str:
        if len({v}) <= {shared}:
            {v} = intern({v})
    elif {v} is not None:
        return MISS
"""
_TIME = """    if {v}.__class__ is str:
        if "0001-01-01" in {v} and no_time({v}.strip()):
            {v} = None
        elif len({v}) <= {shared}:
            {v} = intern({v})
    elif {v} is not None:
        return MISS
"""
_EXACT = """    if {v}.__class__ is not {kind} and {v} is not None:
        return MISS
"""
_CHECKS: dict[Any, str] = {
    text_of: _TEXT,
    timestamp_of: _TIME,
    int_of: _EXACT.replace("{kind}", "int"),
    float_of: _EXACT.replace("{kind}", "float"),
    bool_of: _EXACT.replace("{kind}", "bool"),
}


def write_reader(
    record: type[R], plan: Plan, shape: tuple[str, ...], links_of: Callable[[Any], dict[str, Any] | None]
) -> Reader | None:
    """The reader of JSON entities with exactly these raw keys; ``None`` when this record or key set needs the
    general code (a derive that reads EM's data, a converter it does not know, two raw keys for one normalised key).
    ``links_of`` groups an entity's ``Links`` as ``json_record`` does (``None`` for a shape it does not read)."""
    derive = plan.row.read.derive
    if derive is not None and derive not in VALUES_ONLY:
        return None
    raw: dict[str, str] = {}
    for key in shape:
        name = json_key(key) or ""
        if name in plan.wanted:
            if name in raw:
                return None  # which of the two wins is the general code's business
            raw[name] = key
    keys: list[str] = []  # the raw keys, passed to the factory as k0, k1, …

    def take(name: str) -> str:
        keys.append(raw[name])
        return f"k{len(keys) - 1}"

    lines: list[str] = []
    for variable, name in (("u", "uid"), ("h", "href"), ("n", "name")):
        lines.append(f"    {variable} = item[{take(name)}]\n" if name in raw else f"    {variable} = None\n")
        lines.append(f"    if {variable} is not None and {variable}.__class__ is not str:\n        return MISS\n")
    lines.append("    g = guid_from(u, h)\n")
    values: dict[str, str] = {"key": "g or h or u", "id": "g"}
    if plan.name:
        values["name"] = "n"
    for index, (field_name, field_keys, convert) in enumerate(plan.scalars):
        check = _CHECKS.get(convert)
        if check is None:
            return None
        variable = f"v{index}"
        present = [key for key in field_keys if key in raw]
        if not present:
            lines.append(f"    {variable} = None\n")
        for number, key in enumerate(present):
            taken = f"item[{take(key)}]"
            lines.append(f"    {variable} = {taken}\n" if number == 0 else f"    if {variable} is None:\n"
                         f"        {variable} = {taken}\n")
        lines.append(check.format(v=variable, shared=SHARED_CHARS))
        values[field_name] = variable
    if plan.links and "links" in raw:
        lines.append(f"    f = links_of(item[{take('links')}])\n    if f is None:\n        return MISS\n")
        for link in plan.links:
            values[link] = f"f.get({link!r})"
    if derive is None:
        made = f"record({', '.join(values.get(name, 'None') for name in plan.names)})"
    else:  # as fields.finish: every value read, every link found, then what the derive replaces
        read = {"key": values["key"], "id": "g", **({"name": "n"} if plan.name else {})}
        read.update((name, values[name]) for name, _, _ in plan.scalars)
        lines.append(f"    d = {{{', '.join(f'{name!r}: {value}' for name, value in read.items())}}}\n")
        if plan.links and "links" in raw:
            lines.append("    if f:\n        d.update(f)\n")
        lines.append("    d.update(derive(d, NO_DATA))\n")
        made = "record(*map(d.get, names))"
    parameters = "".join(f"k{index}, " for index in range(len(keys)))
    source = (
        f"def factory({parameters}record, links_of, guid_from, intern, no_time, MISS, derive, NO_DATA, names):\n"
        "  def read(item):\n"
        + "".join("  " + line if line.strip() else line for chunk in lines for line in chunk.splitlines(True))
        + f"      return {made}\n"
        "  return read\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<{record.__name__} reader>", "exec"), namespace)  # noqa: S102 - our own source, no EM text
    reader: Reader = namespace["factory"](
        *keys, record, links_of, guid_from, sys.intern, NO_TIME.match, MISS, derive, _NO_DATA, plan.names
    )
    return reader

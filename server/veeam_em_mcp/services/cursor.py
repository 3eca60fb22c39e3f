"""Opaque paging cursors: a versioned, URL-safe encoding of where a search resumes.

A cursor carries its whole query (so any replica can continue it) and names the search it belongs to,
so a cursor of one tool handed to another is refused with a message that says so. Whatever comes back
from a client is untrusted: anything that is not exactly what this server issued is refused as a
``InvalidArgument`` before a request is sent.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ..errors import InvalidArgument

_VERSION = 1
_MAX_CURSOR_CHARS = 4096


def encode_cursor(search: str, payload: dict[str, Any]) -> str:
    data = {"v": _VERSION, "t": search, **payload}
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(search: str, text: str, *, tool: str) -> dict[str, Any]:
    """The payload of a cursor issued for ``search`` by ``tool``; anything else raises ``InvalidArgument``."""
    try:
        stripped = text.strip()
        if len(stripped) > _MAX_CURSOR_CHARS:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
        payload = json.loads(raw.decode("utf-8"))
        if not isinstance(payload, dict) or payload.get("v") != _VERSION:
            raise ValueError("unknown cursor version")
        # Lone surrogates ("\ud800") survive json.loads but not UTF-8: refuse them here, not in a URL later.
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        # RecursionError: JSON nested a thousand levels deep, which no cursor of this server is.
        raise invalid_cursor(tool) from None
    # Cursors issued before cursors named their search all belong to find_vm_restore_points.
    if payload.pop("t", "vm_restore_points") != search:
        raise InvalidArgument(
            f"The cursor belongs to another tool's search, not to {tool}. Pass the next_cursor of a previous "
            f"{tool} result, or call {tool} again without a cursor."
        )
    payload.pop("v")
    return payload


def invalid_cursor(tool: str) -> InvalidArgument:
    return InvalidArgument(
        f"The cursor is not one this server issued (it is malformed, truncated or altered). Pass next_cursor "
        f"exactly as a previous {tool} result gave it, or call again without a cursor to start from the first page."
    )

"""Characters that must not reach a model or a log unnoticed, defined once for the whole package.

EM text (VM names, descriptions, failure reasons, paths) and text a model sends back (hrefs, prompt
arguments) may carry control characters, zero-width characters or bidirectional overrides. Such
characters can hide or reorder what a person reviewing an answer sees, forge a new line in a prompt,
or smuggle a separator into a URL, so every layer screens text with the same definitions. Secrets
have one last guard here too: ``RedactSecrets`` masks anything shaped like a session token or Basic
credentials in a log record, whichever handler (stderr, an MCP client) it is going to.
"""

from __future__ import annotations

import logging
import re
from typing import TypeVar

# Zero-width and bidirectional-control characters (and the BOM): invisible, yet they change what is read.
_FORMAT = "\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff"

# Text from EM: tab and line feed are legitimate (long failure reasons), every other control is not.
UNSAFE_IN_TEXT = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_FORMAT}]")
# One-line values (prompt arguments, decoded URL paths): no control character at all.
UNSAFE_IN_LINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_FORMAT}]")
# A URL as given: not even a space (EM's links never carry one unencoded).
UNSAFE_IN_URL = re.compile(f"[\\x00-\\x20\\x7f-\\x9f{_FORMAT}]")


# The ASCII characters ``UNSAFE_IN_TEXT`` allows: deleted from an ASCII body, what is left is unsafe.
_SAFE_ASCII = bytes(c for c in range(128) if not UNSAFE_IN_TEXT.match(chr(c)))


def needs_cleaning(body: str | bytes) -> bool:
    """Whether a decoded EM body may hold a character ``clean`` removes, once parsed.

    An unsafe character written as itself, or any character reference (XML ``&#…;``) or escape (JSON
    ``\\u…``) that could decode to one: only then does each string of the body need ``clean``. An ASCII body
    (most are; the bidirectional and zero-width characters are not ASCII) is checked with a byte table and
    single-character searches, several times faster than the regex over a body of megabytes; given as the
    bytes EM sent (UTF-8), it is not even encoded again for that.
    """
    if isinstance(body, bytes):
        if not body.isascii():
            return needs_cleaning(body.decode("utf-8", "replace"))
        raw = body
    elif body.isascii():
        raw = body.encode("ascii")
    else:
        return UNSAFE_IN_TEXT.search(body) is not None or _holds(body, "&#") or _holds(body, "\\u")
    return bool(raw.translate(None, _SAFE_ASCII)) or _holds(raw, b"&#") or _holds(raw, b"\\u")


_LOOKS = 32  # a pair's first character looked at one by one this often, then the rest searched at once
_S = TypeVar("_S", str, bytes)


def _holds(body: _S, pair: _S) -> bool:
    """``pair in body``, quickly: a two-character ``in`` over a body of megabytes costs ~1.5 ms when its first
    character occurs at all (a JSON body's few escaped quotes), a ``find`` of that character per occurrence
    almost nothing; past ``_LOOKS`` of them the rest of the body is searched at once."""
    first, second = pair[:1], pair[1:]
    at = body.find(first)
    for _ in range(_LOOKS):
        if at == -1:
            return False
        if body.startswith(second, at + 1):
            return True
        at = body.find(first, at + 1)
    return at != -1 and body.find(pair, at) != -1


def clean(value: str) -> str:
    """EM text without control or bidirectional-override characters (tabs and line feeds kept).

    ``isprintable()`` is False for every character removed, so the common clean string skips the regex.
    """
    return value if value.isprintable() else UNSAFE_IN_TEXT.sub("", value)


def clean_text(text: str, limit: int = 400) -> str:
    """EM text for a message: cleaned, stripped and bounded in length."""
    text = clean(text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RedactSecrets(logging.Filter):
    """Last line of defence: mask anything shaped like a session token or Basic credentials."""

    _PATTERNS = (
        re.compile(r"(?i)(x-restsvcsessionid['\"]?\s*[:=,]\s*(?:b?['\"])?)[A-Za-z0-9+/=_-]{8,}"),
        re.compile(r"(?i)(authorization['\"]?\s*[:=,]\s*(?:b?['\"])?basic\s+)[A-Za-z0-9+/=]+"),
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for pattern in self._PATTERNS:
            redacted = pattern.sub(r"\1[redacted]", redacted)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True

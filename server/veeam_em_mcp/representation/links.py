"""Which hrefs the server may fetch, and what kind of resource each one is.

``follow_link`` takes URLs that came out of EM's answers, i.e. text a model repeats back to us and
that an attacker could have planted (a VM named like a URL, a prompt injection). The policy makes
the MCP server useless as a proxy: only GETs, only on the configured EM origin, only under
``/api/``, never an action link. The type of the target is decided from the path, because real
servers mislabel some link ``Type``s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from ..errors import InvalidIdentifier, LinkRefused
from ..text import UNSAFE_IN_LINE, UNSAFE_IN_URL
from .ids import GUID, uid_pattern
from .registry import REGISTRY, Registry

_UID = uid_pattern("VmRestorePoint")
_DEFAULT_PORTS = {"https": 443, "http": 80}
# Percent-escapes that could smuggle a separator or a dot past the segment checks.
_DANGEROUS_ESCAPE = re.compile(r"%(2[eEfF]|5[cC]|25|00|3[fF]|23|40)")
_QUERY_PAIR_SEPARATORS = re.compile(r"[&;]")
_NOT_LETTER = re.compile(r"[^a-z]")

# Read-only, yet not this server's business: backup servers' stored credentials and encryption
# password hints, and EM's security settings. Refused so a model can't be talked into listing them.
_SENSITIVE = frozenset({"credentials", "passwords", "security"})

# What a path names: an EM type of the registry, or one of registry.OTHER_KINDS.
ResourceKind = str


@dataclass(frozen=True)
class Target:
    """A vetted URL to GET, and what the path says it is."""

    url: str
    kind: ResourceKind
    single: bool  # a single resource: fetched in its entity form


def restore_point_guid(value: str, policy: LinkPolicy) -> str:
    """The GUID of a VM restore point given as GUID, UID (``urn:veeam:VmRestorePoint:…``) or href."""
    text = value.strip() if isinstance(value, str) else ""
    if GUID.match(text):
        return text.lower()
    if match := _UID.match(text):
        return match.group(1).lower()
    if text.lower().startswith(("http://", "https://", "/api/")):
        target = policy.vet(text)
        parts = urlsplit(target.url).path.split("/")
        if target.kind == "VmRestorePoint" and target.single:
            return parts[3].lower()
        raise InvalidIdentifier(value, "an href of a VM restore point (…/api/vmRestorePoints/<GUID>)")
    raise InvalidIdentifier(
        value,
        "a VM restore point GUID (e.g. 6c958531-3177-4055-b0ce-dc4ef1ce6433), "
        "its UID (urn:veeam:VmRestorePoint:<GUID>) or its href",
    )


class LinkPolicy:
    """Vets hrefs against the configured Enterprise Manager origin."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.scheme = parts.scheme
        self.host = (parts.hostname or "").lower()
        self.port = parts.port or _DEFAULT_PORTS[parts.scheme]
        self.origin = f"{parts.scheme}://{parts.netloc}"

    def vet(self, href: str) -> Target:
        """Return the normalised URL to fetch, or raise ``LinkRefused`` saying why."""
        if not isinstance(href, str) or not href.strip():
            raise LinkRefused(str(href), "the href is empty")
        raw = href.strip()
        if len(raw) > 2048:
            raise LinkRefused(raw[:80] + "…", "the href is longer than any EM link")
        if UNSAFE_IN_URL.search(raw):
            raise LinkRefused(raw, "it contains whitespace or control characters")
        if "\\" in raw:
            raise LinkRefused(raw, "it contains a backslash")
        given = raw  # refusals repeat the href as the caller wrote it
        if raw.startswith("/") and not raw.startswith("//"):
            raw = self.origin + raw
        try:
            parts = urlsplit(raw)
            port = parts.port
        except ValueError:
            raise LinkRefused(given, "it is not a valid URL") from None
        if parts.scheme.lower() != self.scheme:
            raise LinkRefused(given, f"only {self.scheme}:// links on the Enterprise Manager server are followed")
        if "@" in parts.netloc or parts.username is not None:
            raise LinkRefused(given, "it carries user information (user@host), which EM links never do")
        if (parts.hostname or "").lower() != self.host:
            raise LinkRefused(given, f"it points at another host; only {self.origin} is allowed")
        if (port or _DEFAULT_PORTS[self.scheme]) != self.port:
            raise LinkRefused(given, f"it points at another port; only {self.origin} is allowed")
        if parts.fragment or raw.endswith("#"):
            raise LinkRefused(given, "it carries a fragment, which EM links never do")
        path = parts.path
        if _DANGEROUS_ESCAPE.search(path):
            raise LinkRefused(given, "it hides a path separator, dot or escape in percent-encoding")
        try:
            # Invalid UTF-8 escapes (the overlong %c0%ae is an old IIS dot) must not be silently replaced.
            decoded = unquote(path, errors="strict")
        except UnicodeDecodeError:
            raise LinkRefused(given, "its percent-encoding is not valid UTF-8") from None
        if UNSAFE_IN_LINE.search(decoded):
            raise LinkRefused(given, "it hides control characters in percent-encoding")
        segments = decoded.split("/")
        # "..;" is a dot segment with a path parameter on some servers (Tomcat-style traversal).
        if any(seg.split(";", 1)[0] in (".", "..") for seg in segments):
            raise LinkRefused(given, "it contains '.' or '..' path segments")
        if not decoded.startswith("/api/") or "//" in decoded:
            raise LinkRefused(given, "only resources under /api/ on the Enterprise Manager server are followed")
        query = parse_qsl(parts.query, keep_blank_values=True)
        if _has_action(parts.query):
            raise LinkRefused(
                given,
                "it is an action link (?action=…), which starts an operation on the backup "
                "infrastructure; this server is read-only",
            )
        if decoded.rstrip("/").lower() in ("/api/sessionmngr", "/api/logonsessions") or decoded.lower().startswith(
            ("/api/sessionmngr", "/api/logonsessions")
        ):
            raise LinkRefused(given, "logon sessions are managed by this server itself")
        if _SENSITIVE.intersection(segment.lower() for segment in segments):
            raise LinkRefused(
                given,
                "it leads to EM's stored credentials, password keys or security settings, which this "
                "server never reads (nothing about restore points needs them)",
            )
        kind, single = classify(decoded)
        if single:
            query = [(k, v) for k, v in query if k.lower() != "format"] + [("format", "Entity")]
        clean_path = quote(decoded, safe="/-_.~!$&'()*+,;=:@")
        url = f"{self.origin}{clean_path}"
        if query:
            url += "?" + urlencode(query)
        return Target(url=url, kind=kind, single=single)


def _has_action(query: str) -> bool:
    """Whether any query key is ``action`` however disguised: ``%61ction``, ``%2561ction``, ``action%00``,
    ``action[]``, or after a ``;`` (a pair separator on some servers). EM has no other key that is
    ``action`` once reduced to its letters, so the strict reading refuses nothing legitimate."""
    for pair in _QUERY_PAIR_SEPARATORS.split(query):
        key = pair.split("=", 1)[0]
        for _ in range(3):  # undo double and triple encoding
            key = unquote(key)
        if _NOT_LETTER.sub("", key.lower()) == "action":
            return True
    return False


def classify(path: str, registry: Registry = REGISTRY) -> tuple[ResourceKind, bool]:
    """What an ``/api/…`` path names, from the path alone (never from a link's ``Type``)."""
    return registry.classify(path)

"""What a fault is and how it is written: the kinds, the `Fault` record (what it matches, how often, what it did)
and `parse_fault`, the `KIND[=VALUE][:COUNT][,key=value...]` grammar the package's docstring describes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, Literal, get_args

from ..dataset import MUTABLE_TYPES

FaultKind = Literal[
    "latency", "slow-logon", "status", "drop", "truncate", "malformed", "html", "huge", "entities", "expire",
    "short-page", "pages-drift", "mutate", "deep",
]
FAULT_KINDS: Final[tuple[str, ...]] = get_args(FaultKind)
# Faults that only delay or change session state or data, then let the request be answered normally (or by a
# responder).
PASS_THROUGH = frozenset({"latency", "slow-logon", "expire", "mutate"})
# Faults on query pages, applied by the query handler (FaultSet.take_page), not by the middleware.
PAGE_KINDS = frozenset({"short-page", "pages-drift"})
# Faults on GET /api/query answers by default; `type=` limits them, or any other fault but slow-logon, to the
# queries of one type.
_QUERY_KINDS = frozenset({"short-page", "pages-drift", "mutate", "deep"})
_QUERY_PATH = "/api/query"
TOKEN_HEADER = b"x-restsvcsessionid"
_MB = 1024 * 1024
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|k|m|g)?$", re.IGNORECASE)
STATUS_TEXT = {
    500: "An internal error occurred on the Enterprise Manager server (simulated fault).",
    502: "Bad gateway: the upstream Enterprise Manager did not answer (simulated fault).",
    503: "The service is unavailable (simulated fault).",
    504: "Gateway timeout: the upstream Enterprise Manager did not answer in time (simulated fault).",
}
_VARIANTS: dict[str, tuple[str, ...]] = {
    "status": ("em", "html"),
    "malformed": ("cut", "binary"),
    "entities": ("laughs", "external", "parameter", "late"),
    "mutate": ("insert", "remove", "append"),
}

HELP = """\
inject a fault (repeatable): KIND[=VALUE][:COUNT][,count=N][,after=N][,method=M][,path=P][,variant=V][,url=U]
[,length=declared][,encoding=gzip]. KINDs: latency=SECONDS (delay every answer); slow-logon=SECONDS (delay
POST /api/sessionMngr only); status=CODE (answer CODE, e.g. 503, with EM's Error body; ',variant=html' for
HTTP.sys' HTML page); drop (send part of a chunked answer, then close the connection); truncate
(Content-Length larger than the body, then close); malformed (a complete 200 whose body is cut mid-document;
'=binary' for invalid UTF-8); html (200 text/html sign-in page, like a proxy or a wrong port); huge=SIZE (a
lazily generated 200 body, e.g. 400MB; ',length=declared' announces it in Content-Length; ',encoding=gzip'
compresses it several hundredfold, whatever the client asked for); entities=VARIANT (XML with a DTD; VARIANT
is laughs (billion laughs), external (external entity to ',url=U'), parameter (external parameter entity) or
late (a DTD after 8 KB of comment)); expire (drop every session just before the matching request that carries
one). ',type=T' limits a fault (but slow-logon) to the queries of type T (e.g.
status=503:3,type=BackupJobSession). On GET /api/query answers: short-page=N (a page that is not the last
holds N fewer items, PagingInfo unchanged; default 300); pages-drift=K (PagingInfo reports PagesCount+K, K may
be negative, never below 1; default 1); deep=N (a 200 body nested N levels deep, XML or JSON per Accept;
default 10000); mutate=insert|remove|append (default count 1: just before the matching query is answered, add
a copy of the middle item by creation time, with a new id and a time between its neighbours, remove the middle
item, or append a copy of the newest 5 s after it, as a running job does, of ',type=T' or else the query's type;
every later query and GET sees it). Without COUNT a fault lasts
until cleared."""


class FaultSpecError(ValueError):
    """A ``--fault`` spec that cannot be understood."""


@dataclass(kw_only=True)
class Fault:
    """One fault: what to do, to which requests (method, path prefix), and how many times.

    ``seen``/``fired``/``bytes_sent`` are live counters: tests assert that a fault actually fired, so that a
    test cannot pass because its fault never matched.
    """

    kind: FaultKind
    seconds: float = 0.0
    status: int = 503
    size: int = 300 * _MB
    declare_length: bool = False
    gzip: bool = False
    variant: str = ""
    url: str = "http://127.0.0.1:9/xxe"
    # short-page: items left out; pages-drift: added to PagesCount; deep: nesting levels.
    items: int = 300
    drift: int = 1
    depth: int = 10_000
    # short-page / pages-drift / deep: only queries of this type; mutate: the type to change.
    type_name: str | None = None
    count: int | None = None
    after: int = 0
    method: str | None = None
    path: str | None = None
    seen: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)
    bytes_sent: int = field(default=0, compare=False)
    # mutate: the ids inserted or removed, one per firing.
    changed: list[str] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultSpecError(f"unknown fault kind {self.kind!r}; one of: {', '.join(FAULT_KINDS)}")
        if self.kind == "slow-logon":
            self.method = self.method or "POST"
            self.path = self.path or "/api/sessionMngr"
        if self.kind in _QUERY_KINDS:
            self.method = self.method or "GET"
            self.path = self.path or _QUERY_PATH
        elif self.type_name is not None:
            if self.kind == "slow-logon":
                raise FaultSpecError("slow-logon takes no type option (a logon is no query)")
            self.path = self.path or _QUERY_PATH  # any other fault, on the queries of that type only
        if self.kind == "mutate":
            if self.count is None:
                self.count = 1
            if self.type_name is not None and self.type_name.lower() not in MUTABLE_TYPES:
                raise FaultSpecError(f"mutate cannot change {self.type_name}; one of: VmRestorePoint, RestorePoint, "
                                     "BackupFile, BackupJobSession, BackupTaskSession")
        if self.method:
            self.method = self.method.upper()
        allowed = _VARIANTS.get(self.kind, ("",))
        if self.variant == "":
            self.variant = allowed[0]
        if self.variant not in allowed:
            raise FaultSpecError(f"{self.kind} takes one of {', '.join(a for a in allowed if a) or 'no value'}")
        if self.kind == "status" and not 400 <= self.status <= 599:
            raise FaultSpecError(f"status must be an HTTP error code (400-599), not {self.status}")
        if self.seconds < 0 or self.size < 0 or self.after < 0 or (self.count is not None and self.count < 0) \
                or self.items < 0:
            raise FaultSpecError("fault numbers must not be negative")
        if self.depth < 1:
            raise FaultSpecError("deep needs at least 1 level")

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def matches(self, method: str, path: str, has_session: bool, query_type: str | None = None) -> bool:
        if self.method and method.upper() != self.method:
            return False
        if self.path and not path.lower().startswith(self.path.lower()):
            return False
        if self.kind == "mutate":
            # Something must say what to change: the option, or the query's own type.
            target = self.type_name or query_type
            return target is not None and target.lower() in MUTABLE_TYPES
        if self.type_name is not None and (query_type or "").lower() != self.type_name.lower():
            return False
        # A session can only expire under a request that uses one; requests without one are not counted.
        return has_session or self.kind != "expire"


def parse_size(text: str) -> int:
    match = _SIZE.match(text.strip())
    if not match:
        raise FaultSpecError(f"not a size: {text!r} (e.g. 400MB)")
    number, unit = float(match.group(1)), (match.group(2) or "b").lower()
    return int(number * {"b": 1, "k": 1024, "kb": 1024, "m": _MB, "mb": _MB, "g": 1024 * _MB, "gb": 1024 * _MB}[unit])


def parse_fault(spec: str) -> Fault:
    """``status=503:3,method=GET`` → ``Fault(kind="status", status=503, count=3, method="GET")``."""
    head, *options = [part.strip() for part in spec.split(",")]
    kind, _, value = head.partition("=")
    kind = kind.strip().lower()
    count: int | None = None
    # A trailing ":N" is the count, on the value (status=503:3) or on a bare kind (drop:2).
    if ":" in (value or kind):
        target, _, tail = (value or kind).rpartition(":")
        if tail.isdigit():
            count = int(tail)
            value, kind = (target, kind) if value else ("", target)
    fields: dict[str, object] = {"kind": kind, "count": count}
    try:
        if value:
            if kind in ("latency", "slow-logon"):
                fields["seconds"] = float(value)
            elif kind == "status":
                fields["status"] = int(value)
            elif kind == "huge":
                fields["size"] = parse_size(value)
            elif kind == "short-page":
                fields["items"] = int(value)
            elif kind == "pages-drift":
                fields["drift"] = int(value)
            elif kind == "deep":
                fields["depth"] = int(value)
            elif kind in _VARIANTS:
                fields["variant"] = value.lower()
            else:
                raise FaultSpecError(f"{kind} takes no value (got {value!r})")
        for option in options:
            key, sep, raw = option.partition("=")
            key = key.strip().lower()
            if not sep:
                raise FaultSpecError(f"option {option!r} is not key=value")
            if key in ("count", "after"):
                fields[key] = int(raw)
            elif key in ("method", "path", "url", "variant"):
                fields[key] = raw.strip()
            elif key == "type":
                fields["type_name"] = raw.strip()
            elif key == "length":
                fields["declare_length"] = raw.strip().lower() == "declared"
            elif key == "encoding":
                fields["gzip"] = raw.strip().lower() == "gzip"
            else:
                raise FaultSpecError(f"unknown option {key!r}")
    except ValueError as exc:
        if isinstance(exc, FaultSpecError):
            raise
        raise FaultSpecError(f"bad number in fault {spec!r}: {exc}") from None
    return Fault(**fields)  # type: ignore[arg-type]  # kind is validated in __post_init__

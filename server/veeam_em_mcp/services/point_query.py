"""The restore point search's question: tool arguments validated into a ``VmPointQuery`` (EM's filter and
query URL), and the ``Cursor`` that carries it from one page to the next.

A VM name can never change a filter's meaning (``representation.query`` quotes every value); a cursor is
read back only if it is exactly one this server issued. ``point_search`` asks EM the question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, get_args

from ..errors import InvalidArgument
from ..models.base import Platform, parse_timestamp
from ..models.resources import VmRestorePoint
from ..representation.ids import is_vm_ref
from ..representation.query import em_time, parse_user_time, query_url, quote_value
from .cursor import decode_cursor, encode_cursor, invalid_cursor
from .filters import backup_server_condition, check_text

Algorithm = Literal["Full", "Incremental", "ReversedIncremental", "SyntheticFull"]
PointType = Literal["Full", "Increment", "ReverseIncrement"]
ALGORITHMS: tuple[str, ...] = get_args(Algorithm)
POINT_TYPES: tuple[str, ...] = get_args(PointType)
PLATFORMS: tuple[str, ...] = get_args(Platform)

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
SUMMARY_PAGE_SIZE = MAX_PAGE_SIZE  # the summary reads few pages, so each may as well be large
_SEARCH = "vm_restore_points"
_TOOL = "find_vm_restore_points"


@dataclass(frozen=True)
class VmPointQuery:
    """A VmRestorePoint query as the tools take it; ``until`` pins later pages (see ``filter_expression``).

    Times are kept as canonical UTC text so the query round-trips through a cursor unchanged.
    ``created_after`` is inclusive and ``created_before`` exclusive: consecutive windows neither overlap
    nor leave a gap. ``platform`` is filtered here, on the points EM returns: EM's VmRestorePoint query
    has no platform field, and a range on HierarchyObjRef would depend on EM's string collation.
    """

    vm_name: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    algorithm: tuple[str, ...] | None = None
    point_type: str | None = None
    backup_server: str | None = None
    platform: str | None = None
    newest_first: bool = True
    page_size: int = DEFAULT_PAGE_SIZE
    until: str | None = None

    def filter_expression(self) -> str | None:
        """EM's filter for this query (``None`` when nothing is filtered)."""
        parts: list[str] = []
        if self.vm_name is not None and is_vm_ref(self.vm_name):
            # A VM given by its id (vm_id of an estate row): exactly that VM, whatever its name.
            parts.append(f"HierarchyObjRef=={quote_value(self.vm_name.strip())}")
        elif self.vm_name is not None:
            # VmDisplayName is the documented VmRestorePoint filter field for the VM's name.
            parts.append(f"VmDisplayName=={quote_value(self.vm_name)}")
        if self.created_after is not None:
            parts.append(f"CreationTime>={quote_value(self.created_after)}")
        if self.created_before is not None:
            parts.append(f"CreationTime<{quote_value(self.created_before)}")
        if self.until is not None:
            # The newest point seen on the first page: later pages ignore points created since, so a
            # backup finishing while someone pages does not shift every page by one (a repeat and a miss).
            parts.append(f"CreationTime<={quote_value(self.until)}")
        if self.algorithm:
            either = ",".join(f"Algorithm=={quote_value(algorithm)}" for algorithm in self.algorithm)
            parts.append(f"({either})" if len(self.algorithm) > 1 else either)
        if self.point_type is not None:
            parts.append(f"Type=={quote_value(self.point_type)}")
        if self.backup_server is not None:
            parts.append(backup_server_condition(self.backup_server))
        return ";".join(parts) or None

    def url(self, base_url: str, page: int) -> str:
        """``{base}/query?type=VmRestorePoint&format=Entities&filter=…&sortDesc=CreationTime&pageSize=N&page=M``."""
        return query_url(
            base_url,
            "VmRestorePoint",
            filter=self.filter_expression(),
            sort=("desc" if self.newest_first else "asc", "CreationTime"),
            page_size=self.page_size,
            page=page,
        )

    def matches(self, point: VmRestorePoint) -> bool:
        """What EM cannot filter: the platform."""
        return self.platform is None or point.platform == self.platform


def build_query(
    *,
    vm_name: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
    algorithm: str | Sequence[str] | None = None,
    point_type: str | None = None,
    backup_server: str | None = None,
    platform: str | None = None,
    newest_first: bool = True,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> VmPointQuery:
    """Validate tool arguments into a query; raises ``InvalidArgument`` before anything is sent."""
    after = em_time(parse_user_time(created_after, "created_after")) if created_after is not None else None
    before = em_time(parse_user_time(created_before, "created_before")) if created_before is not None else None
    if after is not None and before is not None and parse_timestamp(after) >= parse_timestamp(before):
        raise InvalidArgument(
            f"created_after ({after}) must be earlier than created_before ({before}); the window is empty."
        )
    algorithms = (algorithm,) if isinstance(algorithm, str) else tuple(algorithm) if algorithm is not None else None
    for name in algorithms or ():
        if name not in ALGORITHMS:
            raise InvalidArgument(f"algorithm must be one or more of {', '.join(ALGORITHMS)}, not {name!r}.")
    if algorithms is not None:
        algorithms = tuple(dict.fromkeys(algorithms)) or None  # in the order given, each once
    if point_type is not None and point_type not in POINT_TYPES:
        raise InvalidArgument(f"point_type must be one of {', '.join(POINT_TYPES)}, not {point_type!r}.")
    if platform is not None and platform not in PLATFORMS:
        raise InvalidArgument(f"platform must be one of {', '.join(PLATFORMS)}, not {platform!r}.")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidArgument(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}.")
    check_text("vm_name", vm_name)
    check_text("backup_server", backup_server)
    return VmPointQuery(
        vm_name=vm_name,
        created_after=after,
        created_before=before,
        algorithm=algorithms,
        point_type=point_type,
        backup_server=backup_server,
        platform=platform,
        newest_first=newest_first,
        page_size=page_size,
    )


_TEXT_FIELDS = ("vm_name", "created_after", "created_before", "point_type", "backup_server", "platform")


@dataclass(frozen=True)
class Cursor:
    """Where the next call resumes: the query, EM's page number, and how many of that page were already read."""

    query: VmPointQuery
    page: int
    skip: int = 0

    def encode(self) -> str:
        fields = asdict(self.query)
        fields["algorithm"] = list(self.query.algorithm) if self.query.algorithm else None
        return encode_cursor(_SEARCH, {"q": fields, "p": self.page, "s": self.skip})

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Read a cursor this server issued; anything else is refused with a clear message."""
        payload = decode_cursor(_SEARCH, text, tool=_TOOL)
        try:
            page, skip, fields = payload["p"], payload["s"], payload["q"]
            if type(page) is not int or type(skip) is not int or not isinstance(fields, dict):
                raise ValueError("bad cursor fields")
            fields = {"platform": None, **fields}  # cursors issued before the platform filter lack it
            if set(fields) != set(VmPointQuery.__dataclass_fields__):
                raise ValueError("bad query fields")
            for key in _TEXT_FIELDS:
                if fields[key] is not None and not isinstance(fields[key], str):
                    raise ValueError("bad text field")
            algorithm = fields["algorithm"]
            if algorithm is not None and not (
                isinstance(algorithm, str)
                or (isinstance(algorithm, list) and algorithm and all(isinstance(a, str) for a in algorithm))
            ):
                raise ValueError("bad algorithm")
            if type(fields["newest_first"]) is not bool or type(fields["page_size"]) is not int:
                raise ValueError("bad paging fields")
            query = build_query(**{k: v for k, v in fields.items() if k != "until"})
            until = fields["until"]
            if until is not None:
                if not isinstance(until, str):
                    raise ValueError("bad pin")
                parse_timestamp(until)
            if query.newest_first != fields["newest_first"] or query.page_size != fields["page_size"]:
                raise ValueError("inconsistent cursor")
            if page < 1 or not 0 <= skip < query.page_size:
                raise ValueError("bad position")
            # Re-validated values must be exactly what the cursor carried (times already canonical).
            if (query.created_after, query.created_before) != (fields["created_after"], fields["created_before"]):
                raise ValueError("non-canonical times")
            return cls(replace(query, until=until), page, skip)
        except (ValueError, KeyError, TypeError, InvalidArgument):
            raise invalid_cursor(_TOOL) from None


def check_cursor_agrees(query: VmPointQuery, given: dict[str, Any]) -> None:
    """A cursor carries its query; an argument that contradicts it is a mistake worth saying out loud."""
    for name, value in given.items():
        if value is None:
            continue
        carried = getattr(query, name)
        if name in ("created_after", "created_before"):
            value = em_time(parse_user_time(value, name))
        if name == "algorithm":
            value = tuple(dict.fromkeys([value] if isinstance(value, str) else value))
        if value != carried:
            raise InvalidArgument(
                f"The cursor belongs to a query with {name}={carried!r}, but {name}={value!r} was given. "
                "Pass the cursor alone to continue that query, or drop the cursor to start a new one."
            )

"""VM restore points: one by id, a search by VM name and time, and a VM's recovery summary.

The point and the search are in ``point_search`` (the search's query and cursor in ``point_query``), the
summary (and the backup copy jobs' points) in ``recovery``; this module keeps every name of them importable
from ``services.restore_points``.
"""

from __future__ import annotations

from .point_query import (
    ALGORITHMS,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PLATFORMS,
    POINT_TYPES,
    SUMMARY_PAGE_SIZE,
    Algorithm,
    Cursor,
    PointType,
    VmPointQuery,
    build_query,
    check_cursor_agrees,
)
from .point_search import (
    MAX_PAGES_PER_CALL,
    PointPage,
    find_page,
    read_page,
    read_vm_restore_point,
    with_backups,
)
from .recovery import (
    COPY_TYPES,
    MAX_CHAIN_FILE_READS,
    CopySet,
    ProgressReporter,
    chain_files,
    copies_of,
    copy_restore_points,
    is_copy_job,
    recovery_summary,
)

__all__ = [
    "ALGORITHMS",
    "COPY_TYPES",
    "DEFAULT_PAGE_SIZE",
    "MAX_CHAIN_FILE_READS",
    "MAX_PAGES_PER_CALL",
    "MAX_PAGE_SIZE",
    "PLATFORMS",
    "POINT_TYPES",
    "SUMMARY_PAGE_SIZE",
    "Algorithm",
    "CopySet",
    "Cursor",
    "PointPage",
    "PointType",
    "ProgressReporter",
    "VmPointQuery",
    "build_query",
    "chain_files",
    "check_cursor_agrees",
    "copies_of",
    "copy_restore_points",
    "find_page",
    "is_copy_job",
    "read_page",
    "read_vm_restore_point",
    "recovery_summary",
    "with_backups",
]

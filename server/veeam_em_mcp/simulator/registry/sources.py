"""Where items come from: the dataset tables behind rows and children (by id lists, by parent id, the agent
subsets of shared tables), the children several rows share, and the rows EM has nothing in here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..dataset import Dataset
from ..render.resource import Resource
from ..views.common import ViewContext, unmodelled
from ..views.sessions import system_session_events
from .row import Child, Row

# --- children ---------------------------------------------------------------------------------------------

def by_ids(attr: str, ids_attr: str) -> Callable[[Dataset, Any], list[Any]]:
    def items(ds: Dataset, obj: Any) -> list[Any]:
        table = getattr(ds, attr)
        return [table[i] for i in getattr(obj, ids_attr)]

    return items


def no_children(ds: Dataset, obj: Any) -> list[Any]:
    return []


def no_items(ds: Dataset) -> Mapping[str, Any]:
    return {}


def items_of(attr: str, key: str) -> Callable[[Dataset, Any], list[Any]]:
    """Items of the table `attr` whose `key` attribute is the parent's id (storage order)."""
    def items(ds: Dataset, obj: Any) -> list[Any]:
        return [o for o in getattr(ds, attr).values() if getattr(o, key) == obj.id]

    return items


def agent_management(ds: Dataset, s: Any) -> list[Any]:
    if s.job_type != "AgentBackup" or s.job_id not in ds.agent_jobs:
        return []
    return [ds.job_sessions[i] for i in ds.agent_jobs[s.job_id].session_ids
            if i in ds.job_sessions and ds.job_sessions[i].parent_id == s.id]


def agent_backups(ds: Dataset) -> Mapping[str, Any]:
    return {b.id: b for b in ds.backups.values() if b.job_id in ds.agent_jobs}


def agent_restore_points(ds: Dataset) -> Mapping[str, Any]:
    return {i: ds.restore_points[i] for b in agent_backups(ds).values() for i in b.restore_point_ids
            if i in ds.restore_points}


def agent_backup_files(ds: Dataset) -> Mapping[str, Any]:
    return {i: ds.backup_files[i] for b in agent_backups(ds).values() for i in b.backup_file_ids
            if i in ds.backup_files}


def agent_sessions(ds: Dataset) -> Mapping[str, Any]:
    return {i: ds.job_sessions[i] for j in ds.agent_jobs.values() for i in j.session_ids if i in ds.job_sessions}


def system_events(ctx: ViewContext, s: Any) -> Resource:
    return system_session_events(ctx, s)


VM_POINTS = Child("vmRestorePoints", "VmRestorePoint", by_ids("vm_restore_points", "vm_point_ids"))
RESTORE_POINTS = Child("restorePoints", "RestorePoint", by_ids("restore_points", "restore_point_ids"))
BACKUP_FILES = Child("backupFiles", "BackupFile", by_ids("backup_files", "backup_file_ids"))


def unmodelled_row(type_name: str, plural: str, label: str, segment: str, *, guid_ids: bool = True) -> Row:
    """A collection EM has nothing in for this estate: served as an empty list, every id unknown."""
    return Row(type_name=type_name, plural=plural, items=no_items, view=unmodelled, label=label, segment=segment,
               guid_ids=guid_ids)

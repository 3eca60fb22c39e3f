"""Transforms of a built dataset, in place: renames for tests (`rename_vm`, `rename_job`) and the `mutate` fault's
one item more or less in the middle of a type (`insert_copy`, `remove_middle`, `MUTABLE_TYPES`), or a new newest
one (`append_copy`).

Apply the renames before `create_app`: its query service caches its tables (`mutate` drops them itself).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from typing import Any

from .clock import TICKS_PER_SECOND, iso_utc, name_stamp, sql_style_name
from .coverage_records import AgentRestorePoint
from .model import Dataset
from .records import BackupFile, JobSession, RestorePoint, TaskSession, VmRestorePoint


def _renamed(text: str, old: str, new: str) -> str:
    """`text` with its `<old>@...` / `<old>\\...` head replaced by `new` (names like `sql01@2025-10-20 07:00:29`)."""
    if text == old:
        return new
    for sep in ("@", "\\", " - "):
        if text.startswith(old + sep):
            return new + text[len(old):]
    return text


def _rekeyed(table: dict[str, Any], old_key: str, new_key: str) -> dict[str, Any]:
    return {(new_key if k == old_key else k): v for k, v in table.items()}


def rename_vm(dataset: Dataset, old_name: str, new_name: str, *, ref: str | None = None) -> None:
    """Rename one VM everywhere its name appears: `vms` and `points_by_vm` (re-keyed, order kept), task sessions'
    VmDisplayName and Name, VM restore points' VmName and Name, its own include's Name and DisplayName, and the
    name lists of its job and include. Refs and ids are unchanged. `ref` (the VM's HierarchyObjRef) picks the VM
    when several have `old_name` (twins); without it the name must be unique. Apply before `create_app`."""
    found = [(key, vm) for key, vm in dataset.vms.items()
             if vm.name == old_name and (ref is None or vm.hierarchy_obj_ref == ref)]
    if not found:
        raise KeyError(f"no VM named {old_name!r}" + (f" with ref {ref!r}" if ref else ""))
    if len(found) > 1:
        raise ValueError(f"{len(found)} VMs are named {old_name!r}; pass ref= to pick one")
    old_key, vm = found[0]
    uid = vm.hierarchy_obj_ref
    vm.name = new_name
    taken = new_name in dataset.vms and dataset.vms[new_name] is not vm
    new_key = uid if taken else new_name
    dataset.vms = _rekeyed(dataset.vms, old_key, new_key)
    dataset.points_by_vm = _rekeyed(dataset.points_by_vm, old_key, new_key)
    for p in dataset.points_by_vm[new_key]:
        p.vm_name = new_name
        p.name = _renamed(p.name, old_name, new_name)
    for t in (*dataset.task_sessions.values(), *dataset.replica_task_sessions.values()):
        if t.vm_uid == uid:
            t.vm_name = new_name
            t.name = _renamed(t.name, old_name, new_name)
    for rp in dataset.vm_replica_points.values():
        if rp.source_ref == uid:
            rp.source_vm, rp.vm_name = new_name, f"{new_name}_replica"
            rp.name = _renamed(rp.name, f"{old_name}_replica", rp.vm_name)
    points = {p.id for p in dataset.points_by_vm[new_key]}
    for r in dataset.restore_sessions.values():
        if r.vm_name == old_name and r.point_id in points:
            r.vm_name = new_name
            r.name = _renamed(r.name, old_name, new_name).replace(f"FLR_[{old_name}]@", f"FLR_[{new_name}]@")
    for job in dataset.jobs.values():
        if job.id == vm.job_id or any(dataset.objects_in_job[o].hierarchy_obj_ref == uid for o in job.object_ids
                                      if o in dataset.objects_in_job):
            job.vm_names = [new_name if n == old_name else n for n in job.vm_names]
    for include in dataset.objects_in_job.values():
        if include.id == vm.object_in_job_id or include.hierarchy_obj_ref == uid:
            include.vm_names = [new_name if n == old_name else n for n in include.vm_names]
            if include.hierarchy_obj_ref == uid:
                include.name = include.display_name = new_name


def rename_job(dataset: Dataset, job_id: str, new_name: str) -> None:
    """Rename a job (of `jobs` or `agent_jobs`): the job, its sessions' JobName and Name (a copy worker's
    `<job>\\<source>` head, an agent session's `<job> - <computer>` head too; replica sessions too), its tasks'
    JobName, its Backups' and its Replica's names. Backup file names and paths keep the old name (as on a real
    server). Apply before `create_app`."""
    job = dataset.any_job(job_id)
    old = job.name
    job.name = new_name
    replica_sessions = [s for s in dataset.replica_sessions.values() if s.job_id == job_id]
    for s in (*(dataset.job_sessions[sid] for sid in job.session_ids), *replica_sessions):
        s.job_name = _renamed(s.job_name, old, new_name)
        s.name = _renamed(s.name, old, new_name)
        tasks = dataset.replica_task_sessions if s.job_type == "Replica" else dataset.task_sessions
        for tid in s.task_ids:
            tasks[tid].job_name = s.job_name
    for backup in dataset.backups.values():
        if backup.id == job.backup_id or backup.job_id == job_id:
            backup.name = new_name
    for replica in dataset.replicas.values():
        if replica.job_id == job_id:
            replica.name = new_name


# --- the `mutate` fault: one item more or less in the middle of a type's items by creation time ------------

# Query type (lower case) -> Dataset attribute; the types the `mutate` fault can change.
MUTABLE_TYPES = {
    "vmrestorepoint": "vm_restore_points",
    "restorepoint": "restore_points",
    "backupfile": "backup_files",
    "backupjobsession": "job_sessions",
    "backuptasksession": "task_sessions",
}


def _created(obj: Any) -> int:
    return int(obj.backup_ticks if isinstance(obj, RestorePoint) else obj.creation_ticks)


def _items_of(dataset: Dataset, type_name: str) -> dict[str, Any]:
    attr = MUTABLE_TYPES.get(type_name.lower())
    if attr is None:
        raise ValueError(f"cannot mutate {type_name}; one of: VmRestorePoint, RestorePoint, BackupFile, "
                         "BackupJobSession, BackupTaskSession")
    items: dict[str, Any] = getattr(dataset, attr)
    return items


def _new_guid(dataset: Dataset, rng: random.Random) -> str:
    taken = (dataset.vm_restore_points, dataset.restore_points, dataset.backup_files, dataset.job_sessions,
             dataset.task_sessions)
    while True:
        n = rng.getrandbits(128)
        n = (n & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
        h = f"{n:032x}"
        guid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        if not any(guid in t for t in taken):
            return guid


def _points_key(dataset: Dataset, p: VmRestorePoint) -> str:
    """The `points_by_vm` key of `p`'s VM (its name, or its ref for a twin)."""
    vm = dataset.vms.get(p.vm_name)
    return p.vm_name if vm is not None and vm.hierarchy_obj_ref == p.hierarchy_obj_ref else p.hierarchy_obj_ref


def insert_copy(dataset: Dataset, type_name: str) -> str:
    """Add a copy of the item in the middle of `type_name`'s items sorted by creation time, with a new id and a
    creation time strictly between the copied item and its successor (the nearest pair around the middle
    whose times differ by 2 ticks or more), linked into its parents' lists; returns the new id."""
    items = _items_of(dataset, type_name)
    ordered = sorted(items.values(), key=_created)
    if len(ordered) < 2:
        raise ValueError(f"{type_name} has fewer than two items")
    middle = len(ordered) // 2
    pairs = sorted(range(len(ordered) - 1), key=lambda i: abs(i - middle))
    at = next((i for i in pairs if _created(ordered[i + 1]) - _created(ordered[i]) >= 2), None)
    if at is None:
        raise ValueError(f"no two {type_name} items are far enough apart in time")
    return _copy(dataset, type_name, ordered[at], (_created(ordered[at]) + _created(ordered[at + 1])) // 2)


def append_copy(dataset: Dataset, type_name: str) -> str:
    """Add a copy of `type_name`'s newest item, created `APPENDED_AFTER` seconds after it (what a running job does
    while a client reads: a new newest session or task), linked into its parents' lists; returns the new id."""
    items = _items_of(dataset, type_name)
    if not items:
        raise ValueError(f"{type_name} has no items")
    newest = max(items.values(), key=_created)
    return _copy(dataset, type_name, newest, _created(newest) + APPENDED_AFTER * TICKS_PER_SECOND)


APPENDED_AFTER = 5  # seconds between the newest item and the one `append_copy` adds


def _copy(dataset: Dataset, type_name: str, source: Any, new: int) -> str:
    """A copy of ``source`` created at ``new`` (ticks), with a new id, linked into its parents' lists."""
    items = _items_of(dataset, type_name)
    old = _created(source)
    rng = random.Random(f"{dataset.seed}/{type_name.lower()}/{len(items)}")  # noqa: S311 - not security
    new_id = _new_guid(dataset, rng)
    stamp = name_stamp(new)
    if isinstance(source, VmRestorePoint):
        vp = VmRestorePoint(**{**_fields(source), "id": new_id, "name": f"{source.vm_name}@{stamp}",
                               "creation_time_utc": iso_utc(new), "creation_ticks": new, "task_session_id": ""})
        dataset.restore_points[vp.restore_point_id].vm_point_ids.append(new_id)
        dataset.backup_files[vp.backup_file_id].vm_point_ids.append(new_id)
        points = dataset.points_by_vm.setdefault(_points_key(dataset, vp), [])
        points.insert(bisect.bisect_right([p.creation_ticks for p in points], new), vp)
        copy: Any = vp
    elif isinstance(source, RestorePoint):
        copy = RestorePoint(**{**_fields(source), "id": new_id, "name": sql_style_name(new),
                               "backup_date_utc": iso_utc(new), "backup_ticks": new, "vm_point_ids": [],
                               "backup_file_ids": []})
        dataset.backups[copy.backup_id].restore_point_ids.append(new_id)
    elif isinstance(source, BackupFile):
        copy = BackupFile(**{**_fields(source), "id": new_id, "creation_time_utc": iso_utc(new),
                             "creation_ticks": new, "restore_point_ids": [], "vm_point_ids": []})
        dataset.backups[copy.backup_id].backup_file_ids.append(new_id)
    else:
        end = None if source.end_ticks is None else source.end_ticks + new - old
        head = source.vm_name if isinstance(source, TaskSession) else source.job_name
        shifted = {**_fields(source), "id": new_id, "name": f"{head}@{stamp}", "creation_time_utc": iso_utc(new),
                   "creation_ticks": new, "end_ticks": end, "end_time_utc": None if end is None else iso_utc(end)}
        if isinstance(source, TaskSession):
            copy = TaskSession(**{**shifted, "vm_point_id": None})
            dataset.job_sessions[copy.job_session_id].task_ids.append(new_id)
        else:
            copy = JobSession(**{**shifted, "task_ids": [], "restore_point_ids": []})
            dataset.any_job(copy.job_id).session_ids.append(new_id)
    items[new_id] = copy
    return new_id


def _fields(obj: Any) -> dict[str, Any]:
    """A slots dataclass' fields, lists copied."""
    return {name: (list(v) if isinstance(v := getattr(obj, name), list) else v) for name in obj.__dataclass_fields__}


def _drop(ids: list[str], item_id: str) -> None:
    if item_id in ids:
        ids.remove(item_id)


def _remove_vm_point(dataset: Dataset, pid: str) -> None:
    p = dataset.vm_restore_points.pop(pid)
    if (rp := dataset.restore_points.get(p.restore_point_id)) is not None:
        _drop(rp.vm_point_ids, pid)
    if (bf := dataset.backup_files.get(p.backup_file_id)) is not None:
        _drop(bf.vm_point_ids, pid)
    if (task := dataset.task_sessions.get(p.task_session_id)) is not None and task.vm_point_id == pid:
        task.vm_point_id = None
    points = dataset.points_by_vm.get(_points_key(dataset, p), [])
    if any(q is p for q in points):
        points[:] = [q for q in points if q is not p]


def _remove_task(dataset: Dataset, tid: str) -> None:
    t = dataset.task_sessions.pop(tid)
    if (session := dataset.job_sessions.get(t.job_session_id)) is not None:
        _drop(session.task_ids, tid)
    if t.vm_point_id is not None and (p := dataset.vm_restore_points.get(t.vm_point_id)) is not None:
        p.task_session_id = ""


def _remove_agent_points(dataset: Dataset, doomed: Callable[[AgentRestorePoint], bool]) -> None:
    """Agent restore points cannot outlive their RestorePoint or BackupFile."""
    for pid in [p.id for p in dataset.agent_restore_points.values() if doomed(p)]:
        del dataset.agent_restore_points[pid]


def remove_middle(dataset: Dataset, type_name: str) -> str:
    """Delete the item in the middle of `type_name`'s items sorted by creation time, with what cannot exist
    without it (a session's task sessions; a restore point's or backup file's VM restore points) and every
    link to it; returns the removed id."""
    items = _items_of(dataset, type_name)
    if not items:
        raise ValueError(f"{type_name} has no items")
    ordered = sorted(items.values(), key=_created)
    victim = ordered[len(ordered) // 2]
    vid: str = victim.id
    if isinstance(victim, VmRestorePoint):
        _remove_vm_point(dataset, vid)
    elif isinstance(victim, TaskSession):
        _remove_task(dataset, vid)
    elif isinstance(victim, JobSession):
        for tid in list(victim.task_ids):
            _remove_task(dataset, tid)
        del dataset.job_sessions[vid]
        _drop(dataset.any_job(victim.job_id).session_ids, vid)
        for rp_id in victim.restore_point_ids:
            if (rp := dataset.restore_points.get(rp_id)) is not None:
                rp.job_session_id = ""
        for s in dataset.job_sessions.values():
            if s.parent_id == vid:
                s.parent_id = None
    elif isinstance(victim, RestorePoint):
        for pid in list(victim.vm_point_ids):
            _remove_vm_point(dataset, pid)
        _remove_agent_points(dataset, lambda p: p.restore_point_id == vid)
        del dataset.restore_points[vid]
        _drop(dataset.backups[victim.backup_id].restore_point_ids, vid)
        for bf_id in victim.backup_file_ids:
            if (bf := dataset.backup_files.get(bf_id)) is not None:
                _drop(bf.restore_point_ids, vid)
        if (session := dataset.job_sessions.get(victim.job_session_id)) is not None:
            _drop(session.restore_point_ids, vid)
    else:
        for pid in list(victim.vm_point_ids):
            _remove_vm_point(dataset, pid)
        _remove_agent_points(dataset, lambda p: p.backup_file_id == vid)
        del dataset.backup_files[vid]
        _drop(dataset.backups[victim.backup_id].backup_file_ids, vid)
        for rp_id in victim.restore_point_ids:
            if (rp := dataset.restore_points.get(rp_id)) is not None:
                _drop(rp.backup_file_ids, vid)
    return vid

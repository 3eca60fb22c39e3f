"""Restore sessions over the last 14 days: FLR and full VM restores, one failed, the newest still running, one
without a `Related` restore point.

A part of the coverage phase (coverage/__init__.py), from its own RNG stream.
"""

from __future__ import annotations

from ..clock import (
    TICKS_PER_HOUR,
    TICKS_PER_MINUTE,
    iso_utc,
    millis,
    name_stamp,
)
from ..coverage_records import (
    RestoreSession,
)
from ..records import VmRestorePoint
from .context import Coverage

# (hours before the anchor, JobType, preferred VM, Result (None: still running), Related link to the point).
_RESTORES: tuple[tuple[float, str, str, str | None, bool], ...] = (
    (13 * 24 + 5.2, "FileLevelRestore", "fileserver01", "Success", True),
    (11 * 24 + 2.7, "RestoreVm", "sql02", "Success", True),
    (9 * 24 + 6.1, "FileLevelRestore", "web01", "Success", True),
    # A Hyper-V restore without a Related link, as the scenario_vm_restore doc sample.
    (7 * 24 + 3.4, "RestoreVm", "hv-dc01", "Success", False),
    (5 * 24 + 1.9, "FileLevelRestore", "exch01", "Failed", True),
    (3 * 24 + 4.6, "RestoreVm", "app01", "Success", True),
    (1 * 24 + 2.3, "FileLevelRestore", "dc01", "Success", True),
    (20 / 60, "RestoreVm", "sql01", None, True),
)


def restores(c: Coverage) -> None:
    b, g, facts = c.b, c.g, c.b.facts
    copy_backup = facts.copy_backup_id
    for hours, job_type, preferred, result, related in _RESTORES:
        start = millis(b.anchor_ticks - int(hours * TICKS_PER_HOUR) + g.seconds(0, 300))
        if start < c.window_start:
            continue

        def before(key: str, start: int = start) -> list[VmRestorePoint]:
            return [p for p in b.points_by_vm.get(key, []) if p.backup_id != copy_backup
                    and p.creation_ticks < start - 10 * TICKS_PER_MINUTE]

        key = preferred if before(preferred) else None
        if key is None:
            candidates = [k for k in b.points_by_vm if before(k)]
            if not candidates:
                continue
            key = candidates[g.rng.randrange(len(candidates))]
        point = before(key)[-1]
        vm_name = point.vm_name
        name = f"FLR_[{vm_name}]@{name_stamp(start)}" if job_type == "FileLevelRestore" else \
            f"{vm_name}@{name_stamp(start)}"
        end: int | None = None
        if result is not None:
            end = start + g.seconds(720, 3300)
        progress = 64 if result is None else (100 if job_type == "RestoreVm" else 0)
        session = RestoreSession(
            id=g.guid(),
            name=name,
            vm_name=vm_name,
            job_type=job_type,
            server_id=point.backup_server_id,
            creation_time_utc=iso_utc(start),
            creation_ticks=start,
            end_time_utc=None if end is None else iso_utc(end),
            end_ticks=end,
            state="Working" if end is None else "Stopped",
            result=result,
            progress=progress,
            point_id=point.id if related else None,
        )
        c.data.restore_sessions[session.id] = session
        facts.restore_session_ids.append(session.id)
        if result is None:
            facts.running_restore_session_id = session.id
        elif result == "Failed":
            facts.failed_restore_session_id = session.id
        if not related:
            facts.restore_without_point_id = session.id

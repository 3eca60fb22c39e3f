"""The protection report's rows: what the sources say about one VM (``Vm``), the row made of it against the RPO,
the order problems come first in, and the words of the summary and the replication note.

Apart from the report's reads and its joining of them (``protection``) because it is computation only, no
request: given what was read of a VM, its row is a function of that and the RPO; the summary line, of the rows'
counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..models.base import age_hours, clip, platform_from_hierarchy_ref
from ..models.estate import Outcome, ProtectionSummary, Status
from ..models.resources import AgentRestorePoint, VmRestorePoint
from ..representation.fields import JobRunFields, PointFields, TaskFields
from .estate import outcome_of
from .replicas import AnyJob, Replicated

# Rows by status, the worst first (the report then puts failed runs first, by name).
PROBLEM_ORDER = {"never backed up": 0, "missed": 1, "met": 2}


@dataclass(slots=True)
class Vm:
    """What the sources say about one VM (by its key)."""

    name: str
    ref: str | None
    server: str | None
    jobs: set[str] = field(default_factory=set)  # job ids
    job_names: set[str] = field(default_factory=set)  # names of jobs seen only by name
    task: TaskFields | None = None
    point: PointFields | VmRestorePoint | AgentRestorePoint | None = None
    copy: PointFields | None = None
    replica: Replicated | None = None
    computer_session: JobRunFields | None = None  # a computer's newest per-computer agent session
    looked_up: bool = False
    agent: str | None = None  # a Veeam Agent computer: AgentForWindows or AgentForLinux


Row = dict[str, Any]  # a ProtectionRow's fields, JSON-ready; validated into the model when a page hands it out


def is_problem(row: Row) -> bool:
    return row["status"] != "met" or row["last_outcome"] == "failed" or row["job_enabled"] is False


def row_of(entry: Vm, jobs: dict[str, AnyJob], rpo_hours: float, now: datetime) -> Row:
    """The VM's row: a ``ProtectionRow``'s fields (plain data: a report has tens of thousands of rows, and a
    page shows a few; ``answers.Whole``)."""
    point, task = entry.point, entry.task
    replica = entry.replica.newest if entry.replica else None
    when = point.creation_time if point else None
    age = age_hours(when, now) if when else None
    status: Status
    if point is None:
        # No point in the window: never backed up when looked up further, else not known (see the report's note).
        status = "never backed up" if entry.looked_up else "missed"
    else:
        status = "met" if age is not None and age <= rpo_hours else "missed"
    latest = task or entry.computer_session  # a VM's newest task, or a computer's newest session
    outcome: Outcome | None = outcome_of(latest.state, latest.result) if latest else None
    known = [jobs[job_id] for job_id in entry.jobs if job_id in jobs]
    if len(known) == 1 and not entry.job_names:  # most VMs are in one job
        job = known[0]
        names = [job.name] if job.name else None
        enabled = job.schedule_enabled
    else:
        ordered = sorted({job.name or "" for job in known} | entry.job_names, key=str.casefold)
        names = [name for name in ordered if name] or None
        said_enabled = [job.schedule_enabled for job in known if job.schedule_enabled is not None]
        enabled = any(said_enabled) if said_enabled else None
    if outcome == "failed" or outcome == "warning":
        said = task.reason if task else entry.computer_session.failure_message if entry.computer_session else None
        reason, reason_chars = clip(said or None)
    else:
        reason = reason_chars = None
    copied = entry.copy.creation_time if entry.copy else None
    replicated = replica.creation_time if replica else None
    return {
        "vm_name": entry.name,
        "vm_id": entry.ref,
        "backup_server": entry.server,
        "platform": platform_from_hierarchy_ref(entry.ref),
        "agent": entry.agent,
        "status": status,
        "jobs": names,
        "job_enabled": enabled,
        "newest_point": when,
        "age_hours": age,
        "last_outcome": outcome,
        "last_task": latest.creation_time if latest else None,
        "last_reason": reason,
        "last_reason_chars": reason_chars,
        "restore_point": point.id if point else None,
        "newest_copy": copied,
        "copy_age_hours": age_hours(copied, now) if copied else None,
        "newest_replica": replicated,
        "replica_age_hours": age_hours(replicated, now) if replicated else None,
    }


def replication_note(only: list[Replicated], now: datetime) -> str:
    """What the rows' newest_replica means, and the replicated VMs that are no row (no backup of theirs read)."""
    note = (
        "Replica points do not count for the RPO (a replica is not a backup); newest_replica gives a replicated VM's "
        "newest replica point of the window."
    )
    if only:
        only.sort(key=lambda r: r.name.casefold())

        def said(r: Replicated) -> str:
            when = r.newest.creation_time if r.newest else None
            age = f"newest replica {age_hours(when, now):g} h old" if when else "no replica point in the window"
            return f"{r.name} ({r.job}: {age})"

        shown = "; ".join(said(r) for r in only[:10])
        more = f"; and {len(only) - 10} more" if len(only) > 10 else ""
        note += f" {len(only)} replicated VMs are no row (no backup of theirs was read for these filters): "
        note += f"{shown}{more}."
    return note


def summary_line(summary: ProtectionSummary, rpo_hours: float) -> str:
    parts = [f"{summary.met} meet the {rpo_hours:g} h RPO", f"{summary.missed} miss it"]
    if summary.never_backed_up:
        parts.append(f"{summary.never_backed_up} {'was' if summary.never_backed_up == 1 else 'were'} never backed up")
    machines = (
        f"{summary.vms - summary.computers} protected VMs and {summary.computers} computers (Veeam Agent)"
        if summary.computers else f"{summary.vms} protected VMs"
    )
    line = f"{machines}: " + ", ".join(parts)
    if summary.failed_last_run:
        line += f"; {summary.failed_last_run} failed in {'its' if summary.failed_last_run == 1 else 'their'} newest run"
    if summary.running:
        line += f"; {summary.running} {'is' if summary.running == 1 else 'are'} being backed up now"
    if summary.copied:
        line += f"; {summary.copied} {'has' if summary.copied == 1 else 'have'} a copy from a backup copy job"
    if summary.replicated:
        line += f"; {summary.replicated} {'has' if summary.replicated == 1 else 'have'} a replica point"
    return line + "."

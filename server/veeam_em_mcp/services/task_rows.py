"""A VM's task in a run, and a Veeam Agent computer's part of one, as the rows of an answer.

``find_task_sessions`` lists them for a window, ``get_job_session`` for one run, and the protection report says
what EM does not keep for a computer (``AGENT_NO_REASON``). A row's outcome is its task's (``estate.outcome_of``);
with the window's runs known (``runs.attempts_index``) it says which run and attempt it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ..models.base import clip, unchecked
from ..models.estate import TaskRun
from ..models.resources import Ref
from ..representation.fields import ReplicaTaskFields, TaskRowFields
from .estate import guid_of, job_of_session_name, outcome_of, vm_key
from .runs import Attempts, Session, computer_of

_SLICE = 100  # rows made at a time once the runs are known (RowsAhead.runs_known)

# Rows by outcome, the worst first.
ORDER = {"failed": 0, "warning": 1, "running": 2, "unknown": 3, "succeeded": 4}


def _attempt(session_id: str | None, index: Attempts | None) -> dict[str, Any]:
    """A row's run and attempt, when the runs are known (set as such, as ``model_copy`` would set them)."""
    if index is None:
        return {}
    run, attempt = index.get(session_id or "", (None, None))
    return {"run": run, "attempt": attempt}


def task_run(
    task: TaskRowFields, index: Attempts | None = None, runs: dict[str, dict[str, Any]] | None = None
) -> TaskRun:
    """A task's row. ``runs`` remembers, per job session, what all its tasks' rows say of it (pass one dict
    for the tasks of one answer: a run holds hundreds of tasks)."""
    outcome = outcome_of(task.state, task.result)
    reason, reason_chars = clip(task.reason or None)
    replication = isinstance(task, ReplicaTaskFields)
    if isinstance(task, ReplicaTaskFields):
        session, replica_point = task.replica_session, guid_of(task.vm_replica_point)
    else:
        session, replica_point = task.job_session, None
    said = None if runs is None or session is None else runs.get(session.href)
    if said is None:
        said = _run_said(session, index)
        if runs is not None and session is not None:
            runs[session.href] = said
    # Validated when a page hands it out (models.base.unchecked): a window's rows are made by the thousand.
    return unchecked(TaskRun, dict(
        vm_name=task.vm_name,
        vm_id=task.vm_uid,
        backup_server=task.backup_server.name if task.backup_server else None,
        outcome=outcome,
        result=None if outcome == "running" else task.result,  # EM says Success for a task in progress
        state=task.state,
        reason=reason,
        reason_chars=reason_chars,
        # A task still waiting (Pending) has not started: its creation time is only when it was queued.
        start=None if (task.state or "").lower() == "pending" else task.creation_time,
        end=task.end_time,
        total_size=task.total_size,
        restore_point=guid_of(task.vm_restore_point),
        replication=True if replication else None,
        replica_point=replica_point,
        **said,
    ))


def _run_said(session: Ref | None, index: Attempts | None) -> dict[str, Any]:
    """What a task's row says of its job session: the job's name, the session's id, its run and attempt."""
    guid = guid_of(session)
    return {
        "job_name": job_of_session_name(session.name if session else None),
        "job_session": guid,
        **_attempt(guid, index),
    }


class RowsAhead:
    """Task rows made while a window's later pages are still on their way (``read_fields(each_page=...)``):
    each page's rows as soon as its records and the window's runs are known, the rest when asked for. A row is
    kept with its record and found by that very record (an attempt read again brings new records)."""

    def __init__(self) -> None:
        self.index: Attempts | None = None
        self.said: dict[str, dict[str, Any]] = {}  # task_run's per-session memory, shared by every row
        self.made: dict[int, tuple[TaskRowFields, TaskRun]] = {}  # id(record) -> (record, its row)
        self.waiting: list[list[TaskRowFields]] = []

    def page(self, records: list[TaskRowFields]) -> None:
        """A page's records, read: their rows now if the runs are known, else once they are."""
        if self.index is None:
            self.waiting.append(records)
            return
        for record in records:
            self.made[id(record)] = (record, task_run(record, self.index, self.said))

    async def runs_known(self, index: Attempts, between: Callable[[], Awaitable[None]]) -> None:
        """The runs are known: the rows of the pages read so far are made, a slice at a time, awaiting ``between``
        after each (``client.settled``: the window's requests decided meanwhile go out first)."""
        self.index = index
        waiting, self.waiting = self.waiting, []
        for records in waiting:
            for start in range(0, len(records), _SLICE):
                self.page(records[start : start + _SLICE])
                await between()

    def row(self, record: TaskRowFields, index: Attempts) -> TaskRun:
        if index is not self.index:  # other runs: what was made and remembered is not of them
            return task_run(record, index)
        made = self.made.get(id(record))
        if made is not None and made[0] is record:
            return made[1]
        return task_run(record, index, self.said)


def computer_run(session: Session, index: Attempts | None = None) -> TaskRun:
    """A Veeam Agent computer's part of a run (EM's AgentManagement session) as a task row: EM gives it no VM
    reference and, on the servers seen, no failure text (its FailureMessage is empty)."""
    outcome = outcome_of(session.state, session.result)
    reason, reason_chars = clip(session.failure_message or None)
    return TaskRun(
        vm_name=computer_of(session),
        job_name=session.job_name,
        agent=True,
        backup_server=session.backup_server.name if session.backup_server else None,
        outcome=outcome,
        result=None if outcome == "running" else session.result,
        state=session.state,
        reason=reason,
        reason_chars=reason_chars,
        start=session.creation_time,
        end=session.end_time,
        job_session=session.id,
        **_attempt(session.id, index),
    )


AGENT_NO_REASON = (
    "EM records no reason for a Veeam Agent computer's failure (its per-computer session has no text): the job's "
    "session log on the backup server, or the agent's own log on the computer, has it."
)


def agent_note(rows: Sequence[TaskRun]) -> str | None:
    """Said when a computer failed: EM keeps no reason for it, and where one is."""
    if any(row.agent and row.outcome in ("failed", "warning") and not row.reason for row in rows):
        return AGENT_NO_REASON
    return None


def task_key(run: TaskRun) -> str:
    return vm_key(run.vm_id, run.backup_server, run.vm_name)

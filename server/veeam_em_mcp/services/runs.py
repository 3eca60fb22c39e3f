"""Runs: a job's start and its automatic retries, the unit an administrator thinks in.

EM writes every attempt as a session of its own: the scheduled start (``IsRetry`` false), then each
automatic retry of the VMs that failed (``IsRetry`` true), and for a backup copy job a parent session
with one worker session per source (``ImmediateBackupCopyWorker``, named ``<copy job>\\<source>``).
``runs_of`` folds them back: a run is a job's first session and the retries that follow it (and, for a
copy job, the workers inside its parent's time span; for a Veeam Agent job, the per-computer
``AgentManagement`` sessions inside its attempts' spans, named ``<job> - <computer>@<start>``: they are
the computers' outcomes, as task sessions are the VMs'). A run started, ended, took as long and ended as
its attempts say: start of the first, end of the last, outcome of the last (the first attempt's outcome
is kept too: "succeeded only after a retry"). Jobs are told apart by their UID, never by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..models.base import parse_timestamp
from ..models.estate import Outcome
from ..models.resources import BackupJobSession
from ..representation.fields import JobRunFields, JobSessionFields
from .estate import duration, guid_of, outcome_of, uid_guid

# Sessions that are not runs of their own: a copy job's per-source workers (folded into the copy run) and
# an agent job's per-computer management sessions (its tasks, not its runs).
WORKER = "immediatebackupcopyworker"
AGENT_COMPUTER = "agentmanagement"
# A session as a window read gives it: the model (replica sessions, one session) or only the run's fields.
Session = BackupJobSession | JobSessionFields


@dataclass
class Run:
    """One run: its sessions oldest first (``attempts``), and a copy job's workers."""

    key: str  # the job's id (or, without one, its backup server and name)
    attempts: list[Session]
    workers: list[Session] = field(default_factory=list)
    computers: list[Session] = field(default_factory=list)  # an agent job's per-computer sessions

    @property
    def first(self) -> Session:
        return self.attempts[0]

    @property
    def last(self) -> Session:
        return self.attempts[-1]

    @property
    def outcome(self) -> Outcome:
        return outcome_of(self.last.state, self.last.result)

    @property
    def first_outcome(self) -> Outcome:
        return outcome_of(self.first.state, self.first.result)

    @property
    def start(self) -> str | None:
        return self.first.creation_time

    @property
    def end(self) -> str | None:
        """The end of the last attempt; none while it (or a worker) still runs."""
        if self.outcome == "running" or any(outcome_of(w.state, w.result) == "running" for w in self.workers):
            return None
        ends = [s.end_time for s in (*self.attempts, *self.workers) if s.end_time]
        return max(ends, key=parse_timestamp) if ends else None

    @property
    def seconds(self) -> int | None:
        return duration(self.start, self.end)


def job_key(session: Session) -> str:
    """A session's job: its UID, else its job link, else (backup server, name)."""
    job_id = uid_guid(session.job_uid) or guid_of(session.job)
    if job_id and (session.job_type or "").lower() != WORKER:
        return job_id
    server = session.backup_server.name if session.backup_server else "?"
    name = (session.job_name or "").casefold()
    if (session.job_type or "").lower() == WORKER:
        return f"worker:{job_id or server}:{name}"
    return f"name:{server}:{name}"


def runs_of(sessions: Sequence[Session], started_before: list[Session] | None = None) -> list[Run]:
    """The runs the sessions make up, newest first (sessions in any order). A copy worker whose copy run started
    before the sessions read (before the window) is part of no run here: it goes to ``started_before``."""
    ordered = sorted((s for s in sessions if s.creation_time), key=lambda s: parse_timestamp(s.creation_time or ""))
    runs: list[Run] = []
    open_run: dict[str, Run] = {}
    workers: list[Session] = []
    computers: list[Session] = []
    for session in ordered:
        if (session.job_type or "").lower() == WORKER:
            workers.append(session)
            continue
        if is_agent_computer(session):
            computers.append(session)
            continue
        key = job_key(session)
        current = open_run.get(key)
        if session.is_retry and current is not None:
            current.attempts.append(session)
            continue
        run = Run(key, [session])
        runs.append(run)
        open_run[key] = run
    # A worker's copy run is looked for among the runs of its copy job's name, an agent computer's among its job's
    # (each in the runs' order): not among every run of the window for each of them.
    by_name: dict[str, list[Run]] = {}
    by_key: dict[str, list[Run]] = {}
    if workers or computers:
        for run in runs:
            by_name.setdefault((run.first.job_name or "").casefold(), []).append(run)
            by_key.setdefault(run.key, []).append(run)
    for worker in workers:
        parent = _copy_run_of(worker, by_name.get((worker.job_name or "").split("\\", 1)[0].casefold(), []))
        if parent is not None:
            parent.workers.append(worker)
        elif started_before is not None:  # its copy run started before the window: not a run of the window
            started_before.append(worker)
    for computer in computers:  # a computer whose agent run is outside the window belongs to none
        if (agent_run := _agent_run_of(computer, by_key.get(job_key(computer), []))) is not None:
            agent_run.computers.append(computer)
    runs.sort(key=lambda run: parse_timestamp(run.start or ""), reverse=True)
    return runs


def _copy_run_of(worker: Session, runs: Sequence[Run]) -> Run | None:
    """The copy job's run a worker belongs to, among ``runs`` (those of the copy job's name, the name before the
    worker's backslash): the same backup server, and the worker starting inside the parent session's time span."""
    server = worker.backup_server.name if worker.backup_server else None
    started = parse_timestamp(worker.creation_time or "")
    best: Run | None = None
    for run in runs:
        parent = run.first
        if server and parent.backup_server and parent.backup_server.name != server:
            continue
        if _spans(parent, started) and (best is None or parse_timestamp(parent.creation_time or "") > parse_timestamp(
            best.first.creation_time or ""
        )):
            best = run
    return best


def is_agent_computer(session: Session | JobRunFields) -> bool:
    """Whether a session is one computer's part of a Veeam Agent job's run (EM's AgentManagement)."""
    return (session.job_type or "").lower() == AGENT_COMPUTER


def computer_of(session: Session | JobRunFields) -> str | None:
    """The computer of an agent job's per-computer session: EM names it ``<job> - <computer>@<start>``."""
    base = (session.name or "").rsplit("@", 1)[0]
    job = session.job_name or ""
    if job and base.casefold().startswith(f"{job} - ".casefold()):
        return base[len(job) + 3:] or None
    return base.rsplit(" - ", 1)[1] or None if " - " in base else None


def _spans(session: Session, started: datetime) -> bool:
    begin = parse_timestamp(session.creation_time or "")
    end = parse_timestamp(session.end_time) if session.end_time else None
    return begin <= started and (end is None or started <= end)


def _agent_run_of(computer: Session, runs: Sequence[Run]) -> Run | None:
    """The agent job's run whose attempt's span holds the computer's session, among ``runs`` (its job's, by id)."""
    started = parse_timestamp(computer.creation_time or "")
    return next((run for run in runs if any(_spans(a, started) for a in run.attempts)), None)


Attempts = dict[str, tuple[str, int]]  # a session's id -> its run (its first session's id) and attempt number


def attempts_index(runs: Sequence[Run]) -> Attempts:
    """Each session's run (the GUID of the run's first session) and its attempt number (1 = the first)."""
    index: Attempts = {}
    for run in runs:
        head = run.first.id or ""
        for number, session in enumerate(run.attempts, start=1):
            if session.id:
                index[session.id] = (head, number)
        for worker in run.workers:
            if worker.id:
                index[worker.id] = (head, 1)
        for computer in run.computers:
            started = parse_timestamp(computer.creation_time or "")
            number = next((n for n, a in enumerate(run.attempts, start=1) if _spans(a, started)), 1)
            if computer.id:
                index[computer.id] = (head, number)
    return index

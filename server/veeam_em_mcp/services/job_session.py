"""One job run with its VMs' outcomes: ``get_job_session`` (a backup, replication or Veeam Agent run).

The session is fetched by its id (a bare GUID may be a replication run's: EM keeps those apart), then its
tasks are read as one window (``querying.read_fields``: only the fields a row uses): a backup run's task
sessions, a replication run's replica task sessions (their VMs named by the replication job's members), or a
Veeam Agent run's per-computer sessions within its span. Rows are sorted worst first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..errors import InvalidArgument, NotFound
from ..models.arguments import GetJobSessionArgs
from ..models.estate import JobSessionDetail
from ..models.resources import BackupJobSession, ReplicaJobSession
from ..representation.fields import JobSessionFields, ReplicaTaskFields, TaskRowFields
from ..representation.ids import GUID, uid_pattern
from ..representation.links import LinkPolicy
from ..representation.query import em_time, quote_value
from .answers import paged
from .context import EmContext
from .estate import count, guid_of, outcome_of, same_names, uid_guid
from .fetch import fetch_entity
from .query_terms import Sort, conditions
from .querying import QueryWindow, read_fields
from .replicas import replicated_vm_ids
from .runs import is_agent_computer
from .sessions import join_notes
from .task_rows import ORDER, agent_note, computer_run, task_key, task_run

_SESSION_UID = uid_pattern("BackupJobSession")
_REPLICA_SESSION_UID = uid_pattern("ReplicaJobSession")


def session_guid(identifier: str, policy: LinkPolicy) -> tuple[str, bool | None]:
    """The session's GUID, and whether it is a replication session (None: a bare GUID does not say)."""
    text = identifier.strip()
    if GUID.match(text):
        return text.lower(), None
    for pattern, replica in ((_SESSION_UID, False), (_REPLICA_SESSION_UID, True)):
        if match := pattern.match(text):
            return match.group(1).lower(), replica
    if text.lower().startswith(("http://", "https://", "/api/")):
        target = policy.vet(text)
        if target.kind in ("BackupJobSession", "ReplicaJobSession") and target.single:
            guid = target.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1].lower()
            return guid, target.kind == "ReplicaJobSession"
    raise InvalidArgument(
        f"{identifier!r} is not a job session id: expected its GUID, its UID (urn:veeam:BackupJobSession:<GUID>) "
        "or its href (/api/backupSessions/<GUID>), as find_job_sessions returns them. Nothing was sent."
    )


async def get_job_session(
    em: EmContext, now: datetime, arguments: GetJobSessionArgs, cursor: str | None = None
) -> JobSessionDetail:
    async def compute(args: GetJobSessionArgs) -> JobSessionDetail:
        guid, replica = session_guid(args.session_id, em.policy)  # a malformed id is refused before any request
        missing = (f"No job session with id {guid} exists on Enterprise Manager (retention may have removed it). "
                   "find_job_sessions lists the runs EM holds.")
        spent = 0
        session: BackupJobSession
        if replica:
            session = await fetch_entity(em, "replicaSessions", guid, ReplicaJobSession, missing=missing,
                                         what="a replication job session")
        else:
            try:
                session = await fetch_entity(em, "backupSessions", guid, BackupJobSession, missing=missing,
                                             what="a job session")
            except NotFound:
                if replica is False or "ReplicaJobSession" in em.unsupported:
                    raise
                # A bare GUID may be a replication run's (find_job_sessions lists both): EM keeps them apart.
                session = await fetch_entity(em, "replicaSessions", guid, ReplicaJobSession, missing=missing,
                                             what="a replication job session")
                spent = 1
        oldest_first = Sort("CreationTime", "creation_time", False, "time")
        # Only the fields a row uses, straight from the pages (representation.fields).
        read: QueryWindow[Any]
        if isinstance(session, ReplicaJobSession):
            read = await read_fields(em, ReplicaTaskFields, sort=oldest_first,
                                     filter=f"JobSessionUid=={quote_value('urn:veeam:ReplicaJobSession:' + guid)}")
            tasks = [task_run(task) for task in read.items]
            job = uid_guid(session.job_uid) or guid_of(session.job)
            tasks, named = await replicated_vm_ids(em, tasks, {guid: job} if job else {})
            spent += named
        elif (session.job_type or "").lower() == "agentbackup":
            # A Veeam Agent run's computers are its per-computer sessions of the same job within its span.
            job = uid_guid(session.job_uid) or guid_of(session.job)
            span = [f"CreationTime>={quote_value(session.creation_time)}"] if session.creation_time else []
            if session.end_time:
                span.append(f"CreationTime<={quote_value(session.end_time)}")
            read = await read_fields(em, JobSessionFields, sort=oldest_first, filter=conditions(
                'JobType=="AgentManagement"', f"JobUid=={quote_value('urn:veeam:Job:' + job)}" if job else None,
                *span))
            tasks = [computer_run(s) for s in read.items if is_agent_computer(s)]
        else:
            read = await read_fields(em, TaskRowFields, sort=oldest_first,
                                     filter=f"JobSessionUid=={quote_value('urn:veeam:BackupJobSession:' + guid)}")
            tasks = [task_run(task) for task in read.items]
        tasks.sort(key=lambda task: (ORDER[task.outcome], (task.vm_name or "").casefold(), task_key(task)))
        outcome = outcome_of(session.state, session.result)
        note = join_notes(
            read.issue,
            "The run is still going on: its result is not final, and tasks still running have no outcome yet."
            if outcome == "running"
            else None,
            same_names(((task.vm_name, task_key(task), task.vm_id) for task in tasks), "VM"),
            agent_note(tasks),
        )
        return JobSessionDetail(
            session=session,
            outcome=outcome,
            tasks=tasks,
            counts=count([task.outcome for task in tasks]),
            returned=len(tasks),
            total=len(tasks),
            as_of=em_time(now),
            em_requests=1 + spent + read.requests,
            note=note,
        )

    return await paged(em, "get_job_session", arguments, cursor, JobSessionDetail, compute)

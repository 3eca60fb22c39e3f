"""The restore audit: what was restored, when, from which point, and whether it worked.

EM keeps a session per restore (a whole VM, files; a replica failover too) and serves them through its
query service (``type=RestoreSession``), filtered by time and VM. A running restore has ``Result``
``None`` and no end: it is ``running``, never a failure. What EM does not record is said plainly in
every answer: who started a restore, why a failed one failed, and where it restored to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from ..models.arguments import FindRestoreSessionsArgs, outcomes
from ..models.estate import Window
from ..models.inventory import FindRestoreSessionsResult, RestoreRow
from ..models.resources import RestoreSession
from ..representation.query import em_time, quote_value
from .answers import paged
from .context import EmContext
from .estate import count, duration, guid_of, outcome_of, time_conditions, window_of
from .filters import check_text
from .query_terms import NEWEST_FIRST, conditions
from .querying import read_all

DEFAULT_DAYS = 7  # "what was restored this week"
NOT_RECORDED = (
    "EM's REST API does not record who started a restore, why a failed one failed, or where it restored to "
    "(EM's audit report in its web UI has the user)."
)


async def find_restore_sessions(
    em: EmContext, now: datetime, arguments: FindRestoreSessionsArgs, cursor: str | None = None
) -> FindRestoreSessionsResult:
    async def compute(args: FindRestoreSessionsArgs) -> FindRestoreSessionsResult:
        check_text("vm_name", args.vm_name)
        if args.created_after is None and args.created_before is None:
            window = Window(created_after=em_time((now - timedelta(days=DEFAULT_DAYS)).replace(microsecond=0)),
                            defaulted=True)
        else:
            window = window_of(args.created_after, args.created_before, now)
        expression = conditions(
            f"VmDisplayName=={quote_value(args.vm_name)}" if args.vm_name else None, *time_conditions(window)
        )
        read = await read_all(em, "RestoreSession", filter=expression, sort=NEWEST_FIRST)
        rows = [restore_row(item) for item in read.items if isinstance(item, RestoreSession)]
        wanted = outcomes(args.result)
        kept = [row for row in rows if wanted is None or row.outcome in wanted]
        span = f"the last {DEFAULT_DAYS} days" if window.defaulted else "the window"
        notes = [read.issue, NOT_RECORDED]
        if not rows:
            notes.insert(0, f"EM recorded no restore in {span}" + (f" of a VM named {args.vm_name!r}." if args.vm_name
                                                                   else "."))
        return FindRestoreSessionsResult(
            restores=kept,
            summary=_summary(rows, kept, span),
            counts=count([row.outcome for row in rows]),
            window=window,
            returned=len(kept),
            total=len(kept),
            as_of=em_time(now),
            em_requests=read.requests,
            note=" ".join(note for note in notes if note),
        )

    return await paged(em, "find_restore_sessions", arguments, cursor, FindRestoreSessionsResult, compute)


def restore_row(session: RestoreSession) -> RestoreRow:
    outcome = outcome_of(session.state, session.result)
    return RestoreRow(
        id=session.id,
        vm_name=session.vm_name,
        type=session.job_type,
        outcome=outcome,
        result=None if outcome == "running" else session.result,
        state=session.state,
        start=session.creation_time,
        end=session.end_time,
        duration_seconds=duration(session.creation_time, session.end_time),
        restore_point=guid_of(session.vm_restore_point),
        backup_server=session.backup_server.name if session.backup_server else None,
    )


def _summary(rows: Sequence[RestoreRow], kept: Sequence[RestoreRow], span: str) -> str:
    if not rows:
        return f"No restore in {span}."
    tally = count([row.outcome for row in rows])
    parts = [f"{getattr(tally, name)} {label}" for name, label in (
        ("succeeded", "succeeded"), ("warning", "with warnings"), ("failed", "failed"), ("running", "still running"),
        ("unknown", "without a result"),
    ) if getattr(tally, name)]
    kinds = sorted({row.type or "?" for row in rows})
    line = f"{len(rows)} restore{'s' if len(rows) != 1 else ''} in {span} ({', '.join(kinds)}): {', '.join(parts)}."
    if len(kept) != len(rows):
        line += f" {len(kept)} match the result filter."
    return line

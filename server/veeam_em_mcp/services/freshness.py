"""How fresh EM's data is: when EM last collected from each backup server, and the servers' versions.

Every answer of this server is EM's copy of its backup servers' data, which EM's *data collection job*
refreshes (every 15 minutes by default). When a backup server is unreachable, EM keeps serving its old
data as if current. EM's REST API has no "last collected" field: its own sessions tell it
(``/systemSessions``: one ``CollectJob`` per collection, and its events name each backup server:
"Data collection from <server> completed successfully."). The newest collections are read newest first
until every server's last good collection is found (at most ``MAX_EVENT_READS`` of them); the answer is
kept a few minutes, since it changes only every collection.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import ApiError, BadRequest, NotFound, ResponseTooLarge, VeeamEmError
from ..models.base import age_hours, parse_timestamp
from ..models.inventory import BackupServerRow, ListBackupServersResult
from ..models.resources import BackupServer
from ..representation.query import em_time, query_url
from ..representation.readers import text_of
from .context import EmContext
from .query_terms import BY_NAME
from .querying import read_all

STALE_AFTER_MINUTES = 60.0  # four missed collections at EM's default 15-minute interval
MAX_EVENT_READS = 24  # collections whose events are read at most (6 hours at the default interval)
ANSWER_EVENT_READS = 2  # for the freshness every estate answer carries: the newest two collections
CACHE_SECONDS = 120.0
QUERY_PAGE = 100  # newest system sessions asked of the query service (25 hours of collections at the default)
_SUCCESS = "completed successfully"


@dataclass(frozen=True)
class _Collect:
    id: str
    start: str
    state: str | None


async def list_backup_servers(em: EmContext, now: datetime, *, reads: int = MAX_EVENT_READS) -> ListBackupServersResult:
    """The full answer (``reads`` collections read back at most); a kept one of the last minutes serves too,
    when it read at least as far back."""
    cached = em.freshness
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        depth, answer = cached[1] if isinstance(cached[1], tuple) else (0, None)
        if isinstance(answer, ListBackupServersResult) and depth >= reads:
            return answer.model_copy(update={"em_requests": 0})
    answer = await _compute(em, now, reads)
    em.freshness = (time.monotonic(), (reads, answer))
    return answer


async def collected(em: EmContext, now: datetime) -> tuple[str | None, str | None, int, dict[str, str] | None]:
    """For every estate answer: the oldest of EM's last good collections (UTC), a warning when some backup
    server's data is stale, the EM requests spent (0 when the freshness read of the last minutes is kept), and
    each backup server's version (servers change rarely: a model need not ask for them).
    EM's freshness not being readable never fails an answer: it is then simply not said."""
    try:
        # Light: the newest collections only (a server failing longer is said "older than" them), so that an
        # estate answer pays a few requests every CACHE_SECONDS, not a walk through hours of EM's log.
        known = await list_backup_servers(em, now, reads=ANSWER_EVENT_READS)
    except VeeamEmError:
        return None, None, 0, None
    versions = {row.name: row.version for row in known.backup_servers if row.name and row.version} or None
    stale = [row for row in known.backup_servers if row.freshness in ("stale", "failing")]
    warning = None
    if stale:
        parts = [
            f"{row.name} (last good collection {row.last_collection}, {row.collection_age_minutes:g} min ago)"
            if row.last_collection
            else f"{row.name} (EM's newest collections from it did not succeed: {row.note or 'no success line'})"
            for row in stale
        ]
        warning = (
            f"EM's data from {'; '.join(parts)} is not current: rows about it may be out of date "
            "(list_backup_servers tells more)."
        )
    return known.oldest_data, warning, known.em_requests, versions


async def _compute(em: EmContext, now: datetime, max_reads: int) -> ListBackupServersResult:
    servers_read = await read_all(em, "BackupServer", sort=BY_NAME)
    servers = [item for item in servers_read.items if isinstance(item, BackupServer)]
    requests = servers_read.requests
    notes: list[str] = []
    collects, spent, problem = await _collect_runs(em)
    requests += spent
    if problem:
        notes.append(problem)
    last_good: dict[str, str] = {}
    newest_line: dict[str, str] = {}
    names = [server.name for server in servers if server.name]
    reads = 0
    for collect in collects:
        if all(name in last_good for name in names) or reads >= max_reads:
            break
        events = await em.client.get(f"{em.base_url}/systemSessions/{collect.id}/events")
        reads += 1
        # Newest last: within one collection, a server's last line says how its collection ended.
        for stamp, message in reversed(_events(events.data, collect.start)):
            for name in names:
                if name.casefold() not in message.casefold():
                    continue
                newest_line.setdefault(name, message)
                if _SUCCESS in message.casefold() and name not in last_good:
                    last_good[name] = stamp
    requests += reads
    rows = []
    for server in servers:
        name = server.name or ""
        good = last_good.get(name)
        age = round(age_hours(good, now) * 60, 1) if good else None
        line = newest_line.get(name)
        failing = line is not None and _SUCCESS not in line.casefold() and "preparing" not in line.casefold()
        if good is None and not collects:
            freshness = "unknown"
        elif failing:
            freshness = "failing"
        elif age is None:
            freshness = "stale" if collects else "unknown"
        else:
            freshness = "stale" if age > STALE_AFTER_MINUTES else "current"
        rows.append(
            BackupServerRow(
                name=server.name,
                id=server.id,
                version=server.version,
                port=server.port,
                description=server.description,
                last_collection=good,
                collection_age_minutes=age,
                freshness=freshness,
                note=line if freshness in ("failing", "stale") else None,
            )
        )
    if collects and len(last_good) < len(names) and reads >= max_reads:
        missing = [name for name in names if name not in last_good]
        notes.append(
            f"No successful collection from {', '.join(missing)} in EM's newest {reads} collections: its data is older "
            "than they reach back."
        )
    stale = [row.name for row in rows if row.freshness in ("stale", "failing")]
    if stale:
        notes.insert(0, f"EM's data from {', '.join(n for n in stale if n)} is not current: answers about it may be "
                        "out of date.")
    goods = [parse_timestamp(row.last_collection) for row in rows if row.last_collection]
    return ListBackupServersResult(
        backup_servers=rows,
        newest_collection=collects[0].start if collects else None,
        newest_collection_state=collects[0].state if collects else None,
        oldest_data=em_time(min(goods)) if goods else None,
        stale_after_minutes=STALE_AFTER_MINUTES,
        as_of=em_time(now),
        em_requests=requests,
        note=" ".join(notes) or None,
    )


async def _collect_runs(em: EmContext) -> tuple[list[_Collect], int, str | None]:
    """EM's data collection runs, newest first: from the query service when it answers for system sessions
    (newest first, one page), else from the whole /systemSessions collection (30 days: a few MB)."""
    url = query_url(em.base_url, "SystemSession", sort=("desc", "CreationTime"), page_size=QUERY_PAGE)
    try:
        doc = await em.client.get(url)
        entities = doc.data.get("entities")
        found = _collects(entities if isinstance(entities, dict) else {})
        if found:
            return found, 1, None
    except (BadRequest, NotFound):
        pass  # a type this EM's query service does not know: the collection then
    try:
        doc = await em.client.get(f"{em.base_url}/systemSessions?format=Entity")
    except (NotFound, ApiError) as exc:
        return [], 2, (
            f"EM's own sessions (/systemSessions) could not be read ({type(exc).__name__}): this EM does not say when "
            "it collected from its backup servers (EM 12 and later do)."
        )
    except ResponseTooLarge:
        return [], 2, (
            "EM's own session log (/systemSessions) is larger than VEEAM_EM_MAX_RESPONSE_BYTES and its query service "
            "does not serve it in pages: when EM last collected from each backup server is not known here."
        )
    return _collects(doc.data), 2, None


def _items(data: Any, *keys: str) -> list[dict[str, Any]]:
    for key in keys:
        value = data.get(key) if isinstance(data, dict) else None
        if isinstance(value, dict) and len(value) == 1 and isinstance(next(iter(value.values())), list):
            value = next(iter(value.values()))
        if isinstance(value, list):
            return [item for item in value if isinstance(item, dict)]
        if isinstance(value, dict):
            return [value]
    return []


def _collects(data: dict[str, Any]) -> list[_Collect]:
    """EM's data collection runs, newest first."""
    runs = []
    for item in _items(data, "sessions", "system_sessions", "system_session"):
        if (text_of(item, "session_type") or "").casefold() != "collectjob":
            continue
        start = text_of(item, "creation_time_utc", "creation_time")
        uid = text_of(item, "uid") or ""
        ident = uid.rsplit(":", 1)[-1] if uid else ""
        if not ident:
            href = text_of(item, "href") or ""
            ident = href.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if start and ident:
            try:
                parse_timestamp(start)
            except ValueError:
                continue
            runs.append(_Collect(ident, start, text_of(item, "state")))
    return sorted(runs, key=lambda run: parse_timestamp(run.start), reverse=True)


def _events(data: dict[str, Any], fallback: str) -> list[tuple[str, str]]:
    """(time, message) of a collection's events, in their order; EM writes these times without a Z: UTC."""
    items = _items(data, "events", "system_session_events", "event")
    items.sort(key=lambda item: int(text_of(item, "order") or 0))
    out = []
    for item in items:
        message = text_of(item, "message") or ""
        stamp = text_of(item, "creation_time_utc", "creation_time") or fallback
        try:
            stamp = em_time(parse_timestamp(stamp))
        except ValueError:
            stamp = fallback
        out.append((stamp, message))
    return out

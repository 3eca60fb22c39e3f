"""EM's own system sessions: a `CollectJob` every COLLECT_INTERVAL_MINUTES and a daily `CatalogReplicationJob`,
each with its events; for the last STALE_HOURS hours the collection from vbr02 fails.

A part of the coverage phase (coverage/__init__.py), from its own RNG stream.
"""

from __future__ import annotations

from ..clock import (
    TICKS_PER_DAY,
    TICKS_PER_HOUR,
    TICKS_PER_MINUTE,
    iso_utc,
    micro_text,
)
from ..coverage_records import (
    SystemSession,
)
from ..scenarios import (
    COLLECT_FAILED,
    COLLECT_INTERVAL_MINUTES,
    STALE_HOURS,
)
from .context import Coverage


def system_sessions(c: Coverage) -> None:
    b, g, facts = c.b, c.g, c.b.facts
    servers = [b.servers[sid] for sid in b.server_ids]
    stale = servers[1] if len(servers) > 1 else None
    stale_from = b.anchor_ticks - STALE_HOURS * TICKS_PER_HOUR
    first = b.anchor_ticks - min(b.days, 30) * TICKS_PER_DAY
    step = COLLECT_INTERVAL_MINUTES * TICKS_PER_MINUTE
    slot = -(-first // step) * step
    made: list[SystemSession] = []
    good: dict[str, int] = {}
    while slot <= b.anchor_ticks:
        start = slot + g.rng.randrange(1_000_000, 4_000_000) * 10
        if slot % TICKS_PER_DAY == 30 * TICKS_PER_MINUTE:
            catalog = _catalog_session(c, start)
            if catalog.end_ticks <= b.anchor_ticks:
                made.append(catalog)
        cursor = start
        events = [(cursor, "Data collection job started.")]
        ok = True
        for server in servers:
            cursor += g.rng.randrange(20_000, 400_000) * 10
            events.append((cursor, f"Preparing to collect data from {server.name}"))
            cursor += g.rng.randrange(100_000, 1_500_000) * 10
            events.append((cursor, f"Retrieving data from {server.name}..."))
            failing = server is stale and start >= stale_from
            slow = 3 if server is stale else 1
            cursor += g.rng.randrange(3_000_000, 20_000_000) * 10 * slow
            if failing:
                ok = False
                events.append((cursor, COLLECT_FAILED.replace("{server}", server.name)))
            else:
                events.append((cursor, f"Data collection from {server.name} completed successfully."))
        cursor += g.rng.randrange(10_000, 300_000) * 10
        events.append((cursor, "Data collection job finished."))
        end = cursor + g.rng.randrange(1_000, 50_000) * 10
        if end > b.anchor_ticks:
            break
        session = _system_session(c, "Collect Job", "CollectJob", start, end, events)
        made.append(session)
        for ticks, message in events:
            if message.endswith("completed successfully."):
                good[message[len("Data collection from "):-len(" completed successfully.")]] = ticks
        if not ok and not facts.stale_since:
            facts.stale_since = iso_utc(start)
        facts.newest_collect_session_id = session.id
        slot += step
    for session in sorted(made, key=lambda s: s.creation_ticks):
        c.data.system_sessions[session.id] = session
    facts.stale_server = stale.name if stale is not None else ""
    facts.last_good_collection = {name: iso_utc(ticks) for name, ticks in good.items()}


def _catalog_session(c: Coverage, start: int) -> SystemSession:
    g = c.g
    start += g.rng.randrange(1_000_000, 5_000_000) * 10
    events = [(start, "Catalog replication job started.")]
    cursor = start + g.rng.randrange(200_000, 900_000) * 10
    events.append((cursor, "No indexed guest file systems to replicate."))
    cursor += g.rng.randrange(50_000, 300_000) * 10
    events.append((cursor, "Catalog replication job finished."))
    return _system_session(c, "Catalog Replication Job", "CatalogReplicationJob", start,
                           cursor + g.rng.randrange(1_000, 50_000) * 10, events)


def _system_session(c: Coverage, title: str, kind: str, start: int, end: int,
                    events: list[tuple[int, str]]) -> SystemSession:
    stamp = micro_text(start)
    return SystemSession(
        id=c.g.guid(),
        name=f"{title} @{stamp.replace('T', ' ')}",
        session_type=kind,
        creation_time_utc=stamp + "Z",
        creation_ticks=start,
        end_time_utc=micro_text(end) + "Z",
        end_ticks=end,
        state="CompletedSuccessfully",
        result="CompletedSuccessfully",
        message="",
        events=events,
    )

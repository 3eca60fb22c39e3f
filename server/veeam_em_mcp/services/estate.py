"""What the estate operations share: outcomes, time windows, identities, and names that must exist.

- An outcome is never guessed: a run EM has not finished is ``running``, whatever its Result says.
- A window defaults to the last 24 hours ("last night"); a window that ends before it starts is refused
  before any request.
- A job or VM name that matches nothing is checked once more, cheaply: when EM does not know the name at
  all, the error says so and names the nearest names EM does know.
- Rows are keyed by EM's ids, never by names: a VM is its reference (HierarchyObjRef / VmUid), a job
  its UID. Names repeat across backup servers, vCenters and tenants; a filter by name that matches
  several selects each, and a filter takes the id a row carries as well as a name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from ..errors import InvalidArgument
from ..models.base import parse_timestamp
from ..models.estate import Counts, Outcome, Window
from ..models.resources import Ref
from ..representation.ids import GUID, GUID_PATTERN, is_vm_ref
from ..representation.query import em_time, parse_query_page, parse_user_time, query_url, quote_value, read_paging
from .context import EmContext
from .filters import backup_server_condition, check_text

DEFAULT_WINDOW = timedelta(hours=24)
_RUNNING_STATES = frozenset({"starting", "working", "stopping", "pausing", "resuming", "inprogress", "pending"})
_RESULTS: dict[str, Outcome] = {"success": "succeeded", "warning": "warning", "failed": "failed"}
_JOB_ID = re.compile(rf"^(?:urn:veeam:Job:)?({GUID_PATTERN})\Z", re.IGNORECASE)


def after(timestamp: str) -> str:
    """The EM time just after ``timestamp`` (for an exclusive upper end); the end of time stays the end."""
    try:
        return em_time(parse_timestamp(timestamp) + timedelta(microseconds=1))
    except OverflowError:
        return em_time(parse_timestamp(timestamp))


def outcome_of(state: str | None, result: str | None) -> Outcome:
    """``running`` while EM has not finished (its Result then means nothing), else the Result in words."""
    if state is not None and state.lower() in _RUNNING_STATES:
        return "running"
    return _RESULTS.get((result or "").lower(), "unknown")


def count(outcomes: Sequence[Outcome]) -> Counts:
    tally = {name: 0 for name in Counts.model_fields}
    for outcome in outcomes:
        tally[outcome] += 1
    return Counts(**tally)


def window_of(created_after: str | None, created_before: str | None, now: datetime) -> Window:
    """The UTC window asked for; the last 24 hours when neither end is given. Refused when empty."""
    after = em_time(parse_user_time(created_after, "created_after")) if created_after is not None else None
    before = em_time(parse_user_time(created_before, "created_before")) if created_before is not None else None
    if after is None and before is None:
        return Window(created_after=em_time((now - DEFAULT_WINDOW).replace(microsecond=0)), defaulted=True)
    if after is not None and before is not None and parse_timestamp(after) >= parse_timestamp(before):
        raise InvalidArgument(
            f"created_after ({after}) must be earlier than created_before ({before}); the window is empty. "
            "Nothing was sent to Enterprise Manager."
        )
    return Window(created_after=after, created_before=before)


def time_conditions(window: Window, field: str = "CreationTime") -> list[str]:
    parts = []
    if window.created_after:
        parts.append(f"{field}>={quote_value(window.created_after)}")
    if window.created_before:
        parts.append(f"{field}<{quote_value(window.created_before)}")
    return parts


def server_condition(backup_server: str | None) -> str | None:
    if backup_server is None:
        return None
    check_text("backup_server", backup_server)
    return backup_server_condition(backup_server)


def duration(start: str | None, end: str | None) -> int | None:
    if not start or not end:
        return None
    return max(0, round((parse_timestamp(end) - parse_timestamp(start)).total_seconds()))


# --- identity -------------------------------------------------------------------------------------------


def guid_of(ref: Ref | None) -> str | None:
    """The GUID an href ends in (``/api/backupSessions/<GUID>``), lower-case."""
    if ref is None:
        return None
    last = ref.href.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return last.lower() if GUID.match(last) else None


def server_id(server: Ref | None) -> str | None:
    """A backup server's id from a link to it (its name when the link has no id): joins what EM links by name
    (a replica to its job, a protection group to its agent job) on the right backup server."""
    return guid_of(server) or (server.name if server else None)


def uid_guid(uid: str | None) -> str | None:
    """``urn:veeam:Job:<GUID>`` (or a bare GUID) → the GUID, lower-case."""
    if not uid:
        return None
    tail = uid.strip().rsplit(":", 1)[-1]
    return tail.lower() if GUID.match(tail) else None


def job_id_in(text: str | None) -> str | None:
    """The job GUID when ``text`` is a job id (GUID or ``urn:veeam:Job:<GUID>``), else None (a name)."""
    match = _JOB_ID.match(text.strip()) if text else None
    return match.group(1).lower() if match else None


def is_vm_id(text: str | None) -> bool:
    """Whether ``text`` is a VM reference (``urn:VMware:Vm:…``, ``urn:HyperV:Vm:…``, ``urn:vCloud:Vm:…``)."""
    return is_vm_ref(text)


def vm_key(ref: str | None, server: str | None, name: str | None) -> str:
    """What tells VMs apart: EM's reference; only when EM gave none, the backup server and the name."""
    if ref:
        return ref.strip().lower()
    return f"name:{server or '?'}:{(name or '').casefold()}"


def job_condition(job: str | None) -> str | None:
    """EM's filter for one job by id, or for every job of that name (names repeat across backup servers)."""
    if job is None:
        return None
    check_text("job_name", job)
    guid = job_id_in(job)
    if guid is not None:
        return f"JobUid=={quote_value('urn:veeam:Job:' + guid)}"
    return f"JobName=={quote_value(job)}"


def job_entity_condition(job: str | None, urn_type: str = "Job") -> str | None:
    """EM's filter on job entities themselves (``type=Job``, ``type=AgentBackupJob``, whose UIDs are
    ``urn:veeam:<urn_type>:…``) for one job by id, or for every job of that name."""
    if job is None:
        return None
    check_text("job_name", job)
    guid = job_id_in(job)
    return f"UID=={quote_value(f'urn:veeam:{urn_type}:{guid}')}" if guid else f"Name=={quote_value(job)}"


def same_names(rows: Iterable[tuple[str | None, str, str | None]], what: str) -> str | None:
    """A sentence for display names several distinct objects share: (name, key, where) per row."""
    # Most names are one object's: a name's first (key, where) is kept as it is, and only a name a second key
    # shares gets a dict of its keys (a 50,000-VM report: 50,000 names, a handful repeated).
    first: dict[str, tuple[str, str | None]] = {}
    many: dict[str, dict[str, str | None]] = {}
    spelled: dict[str, str] = {}
    folded: dict[str, str] = {}  # each spelling folded once: thousands of rows share a few hundred names
    for name, key, where in rows:
        if name:
            fold = folded.get(name)
            if fold is None:
                fold = folded[name] = name.casefold()
                spelled.setdefault(fold, name)
            seen = first.get(fold)
            if seen is None or (seen[0] == key and fold not in many):
                first[fold] = (key, where)
            elif (keys := many.get(fold)) is None:
                many[fold] = {seen[0]: seen[1], key: where}
            else:
                keys[key] = where
    shared = {spelled[name]: keys for name, keys in many.items()}
    if not shared:
        return None
    parts = []
    for name, keys in sorted(shared.items())[:5]:
        places = sorted({where or "?" for where in keys.values()})
        parts.append(f"{len(keys)} {what}s are named {name!r} (on {', '.join(places)})")
    more = f" and {len(shared) - 5} more names" if len(shared) > 5 else ""
    return "; ".join(parts) + more + ": each is a row of its own, told apart by its id and backup server."


def job_of_session_name(name: str | None) -> str | None:
    """``SQL Backup@2026-11-20 10:00:05`` → ``SQL Backup`` (EM names runs <job>@<UTC start>)."""
    return name.rsplit("@", 1)[0] if name and "@" in name else name


async def unknown_name(em: EmContext, em_type: str, field: str, name: str, what: str) -> InvalidArgument | None:
    """When EM knows no ``what`` of that name: an error naming it and the nearest names (None when it exists)."""
    url = query_url(em.base_url, em_type, filter=f"{field}=={quote_value(name)}", format="References", page_size=1)
    if read_paging(doc := await em.client.get(url)).pages_count and doc.data.get("refs"):
        return None
    names = await known_names(em, em_type, field)
    if name in names or name.casefold() in {known.casefold() for known in names}:
        # The name as shown: EM's own spelling holds characters this server does not show (zero-width or
        # control characters), so EM does not find the shown one. The id in the row finds it.
        return InvalidArgument(
            f"Enterprise Manager's {what} that reads {name!r} is spelled with characters that are not shown (invisible "
            f"or control characters), so EM finds nothing by the shown name. Pass the id a result gave for it instead "
            f"({'vm_id' if what == 'VM' else 'job_id'})."
        )
    near = difflib.get_close_matches(name, names, n=5, cutoff=0.5) or difflib.get_close_matches(
        name.casefold(), [n.casefold() for n in names], n=5, cutoff=0.5
    )
    hint = f" The nearest names EM knows: {', '.join(near)}." if near else ""
    return InvalidArgument(
        f"Enterprise Manager knows no {what} named {name!r} (names are compared whole, ignoring case).{hint}"
    )


async def vm_condition(em: EmContext, vm: str | None) -> tuple[str | None, str | None, int]:
    """EM's filter for a VM given by name or by id, the VM id to keep (rows of other VMs of that name are
    dropped), and the EM requests spent: an id is looked up in EM's restore points for its name, because
    EM's task sessions filter on the VM's name only."""
    if vm is None:
        return None, None, 0
    check_text("vm_name", vm)
    if not is_vm_id(vm):
        return f"VmDisplayName=={quote_value(vm)}", None, 0
    ref = vm.strip()
    url = query_url(
        em.base_url, "VmRestorePoint", filter=f"HierarchyObjRef=={quote_value(ref)}", sort=("desc", "CreationTime"),
        page_size=1,
    )
    page = parse_query_page(await em.client.get(url), "VmRestorePoint")
    names = [getattr(item, "vm_name", None) or getattr(item, "vm_display_name", None) for item in page.items]
    name = next((n for n in names if n), None)
    if name is None:
        raise InvalidArgument(
            f"Enterprise Manager holds no restore point of a VM with id {ref!r}, so its name (which EM's task "
            "sessions are filtered by) is not known here: pass the VM's name instead."
        )
    return f"VmDisplayName=={quote_value(name)}", ref.lower(), 1


async def known_names(em: EmContext, em_type: str, field: str) -> list[str]:
    """Names of every item of a small type (jobs), or of the VMs seen recently (restore points)."""
    if em_type == "VmRestorePoint":
        await em.vm_names.refresh(em.client, em.base_url)
        return list(em.vm_names.names)
    url = query_url(em.base_url, em_type, format="References", sort=("asc", "Name"), page_size=1000)
    doc = await em.client.get(url)
    refs = doc.data.get("refs")
    return [str(ref.get("name")) for ref in refs if isinstance(ref, dict) and ref.get("name")] if refs else []



"""What the registry's rows derive beyond reading fields one by one: the ``derive`` functions of its readers.

A job's schedule in words, its retry count, members and source jobs; a tenant's quotas added up; and the
names EM repeats (a display name equal to the VM's name, a point named after its creation time) left out.
Each takes the values already read and the entity's normalised data, and returns the values to replace.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..models.base import platform_from_hierarchy_ref
from ..models.resources import JobInclude
from .readers import Data, bool_of, int_of, text_of


def replica_point(values: dict[str, Any], data: Data) -> dict[str, Any]:
    # A display name equal to the VM name would only repeat it (as on a VM restore point).
    return {"vm_display_name": None} if values.get("vm_display_name") == values.get("vm_name") else {}


def vm_point(values: dict[str, Any], data: Data) -> dict[str, Any]:
    # The platform is in the VM's ref; a display name equal to the VM name would only repeat it.
    tidy: dict[str, Any] = {"platform": platform_from_hierarchy_ref(values.get("hierarchy_obj_ref"))}
    vm_name, created = values.get("vm_name"), values.get("creation_time")
    if values.get("vm_display_name") == vm_name:
        tidy["vm_display_name"] = None
    # EM names a point <VM>@<yyyy-MM-dd HH:mm:ss[.ffffff]> of its creation time; then the name says nothing new.
    if vm_name and created and values.get("name") in _stamped_names(vm_name, created):
        tidy["name"] = None
    return tidy


def _stamped_names(vm_name: str, created: str) -> set[str]:
    stamp = created.rstrip("Zz").replace("T", " ")
    return {f"{vm_name}@{stamp[:19]}", f"{vm_name}@{stamp}"}


def job(values: dict[str, Any], data: Data) -> dict[str, Any]:
    """The schedule in words, the retry count and the members, from EM's JobScheduleOptions and JobInfo."""
    options = _mapping(_mapping(data.get("job_schedule_options")).get("standart"))  # sic: EM spells it so
    retry = _mapping(options.get("retry_options"))
    return {
        "schedule": schedule_in_words(options) if options else None,
        "retry_times": int_of(retry, "retry_times"),
        "includes": _includes(data) or None,
        "source_jobs": _found(data.get("job_info"), "linked_job_uid") or None,
    }


def _found(value: Any, key: str) -> list[str]:
    """Every text under ``key`` anywhere in ``value`` (EM nests a copy job's linked jobs a few levels deep), in
    document order, at most 8 levels down. A walk with a stack: a job's JobInfo holds every member, and a
    recursive walk building a list per node was most of the cost of reading a job."""
    found: list[str] = []
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            held = node.get(key)
            if held not in (None, "") and not isinstance(held, dict | list):
                found.append(str(held))
            inner: Iterable[Any] = node.values()
        elif isinstance(node, list):
            inner = node
        else:
            continue  # only the value itself may be a scalar: nothing under it
        if depth < 8:
            stack.extend((item, depth + 1) for item in reversed(list(inner)) if isinstance(item, dict | list))
    return found


def schedule_in_words(options: Data) -> str | None:
    """``daily, every day``; ``daily on Monday, Friday``; ``monthly, Fourth Saturday``; ``every 4 hours``."""
    parts: list[str] = []
    daily = _mapping(options.get("options_daily"))
    if bool_of(daily, "enabled"):
        kind = text_of(daily, "kind") or ""
        days = daily.get("days")
        listed = ", ".join(str(day) for day in (days if isinstance(days, list) else [days] if days else []))
        parts.append("daily, every day" if kind.lower() == "everyday" else f"daily on {listed or kind}")
    monthly = _mapping(options.get("options_monthly"))
    if bool_of(monthly, "enabled"):
        which = " ".join(filter(None, (text_of(monthly, "day_number_in_month"), text_of(monthly, "day_of_week"))))
        parts.append(f"monthly, {which}" if which else "monthly")
    periodically = _mapping(options.get("options_periodically"))
    if bool_of(periodically, "enabled"):
        every, unit = text_of(periodically, "full_period"), (text_of(periodically, "kind") or "").lower()
        parts.append(f"every {every} {unit}".strip() if every else "periodically")
    if bool_of(_mapping(options.get("options_continuous")), "enabled"):
        parts.append("continuously")
    return "; ".join(parts) or None


def _includes(data: Data) -> list[JobInclude]:
    info = _mapping(data.get("job_info"))
    # A VM job nests its members in BackupJobInfo (a replication job in ReplicaJobInfo); an agent job has them
    # right in JobInfo.
    includes = (
        _mapping(_mapping(info.get("backup_job_info")).get("includes"))
        or _mapping(_mapping(info.get("replica_job_info")).get("includes"))
        or _mapping(info.get("includes"))
    )
    items = next(
        (includes[key] for key in ("object_in_jobs", "object_in_job", "object_in_agent_backup_jobs",
                                   "object_in_agent_backup_job") if key in includes),
        None,
    )
    members = []
    for item in items if isinstance(items, list) else [items] if isinstance(items, dict) else []:
        if not isinstance(item, dict):
            continue
        ref = text_of(item, "hierarchy_obj_ref")
        parts = ref.split(":") if ref else []
        members.append(
            JobInclude(
                name=text_of(item, "display_name", "name"),
                object_type=parts[2] if len(parts) > 2 else None,
                hierarchy_obj_ref=ref,
            )
        )
    return members


def object_in_job(values: dict[str, Any], data: Data) -> dict[str, Any]:
    return {"display_name": None} if values.get("display_name") == values.get("name") else {}


def tenant(values: dict[str, Any], data: Data) -> dict[str, Any]:
    """A tenant's quotas (MB) added up over its resources; SQL Server's minimum datetime (1753) is how EM
    says a tenant was never active: not a time."""
    out: dict[str, Any] = {}
    active = values.get("last_active")
    if isinstance(active, str) and active.startswith(("1753-", "0001-")):
        out["last_active"] = None
    resources = _mapping(data.get("resources"))
    items = resources.get("cloud_tenant_resources", resources.get("cloud_tenant_resource"))
    listed = items if isinstance(items, list) else [items] if isinstance(items, dict) else []
    if isinstance(data.get("resources"), list):
        listed = list(data["resources"])
    quotas = [_mapping(_mapping(item).get("repository_quota")) for item in listed]
    quotas = [quota for quota in quotas if quota]
    if quotas:
        sizes = [(int_of(q, "quota", "quota_mb"), int_of(q, "used_quota")) for q in quotas]
        out["quota_mb"] = sum(size for size, _ in sizes if size is not None) if any(s for s, _ in sizes) else None
        out["used_quota_mb"] = sum(used for _, used in sizes if used is not None) if any(u for _, u in sizes) else None
        names = [text_of(q, "display_name") for q in quotas]
        out["repository"] = ", ".join(name for name in names if name) or None
    return out


def _mapping(value: Any) -> Data:
    return value if isinstance(value, dict) else {}


# The derives that read only the values already read, never the entity's data (``field_direct``'s readers, which
# make no normalised data, run these; any other derive sends its records to the general code).
VALUES_ONLY = frozenset({replica_point, vm_point})

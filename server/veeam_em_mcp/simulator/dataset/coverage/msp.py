"""The MSP views: vCloud Director self-service organisation configs and Cloud Connect tenants on vbr01.

A part of the coverage phase (coverage/__init__.py), from its own RNG stream.
"""

from __future__ import annotations

from ..clock import (
    TICKS_PER_DAY,
    TICKS_PER_HOUR,
    iso_utc,
    millis,
)
from ..coverage_records import (
    CloudTenant,
    OrgConfig,
)
from ..scenarios import (
    NEVER_ACTIVE_TENANT,
    SQL_MIN_DATETIME,
)
from .context import Coverage

# (name, QuotaGb, UsedQuotaMb, IsDisabled, JobSchedulerType, HighPriorityJob).
_ORGS = (
    ("ACME", 2048, 1_288_490, False, "Full", False),
    # 1,002,701 MB = 979 GB of 1,024 GB: 95.6 % used (compare in one unit).
    ("Globex", 1024, 1_002_701, False, "Partial", True),
    # The default pseudo-organisation of the collection.
    ("Other organizations", 500, 0, True, "Disabled", False),
)
# (name, type, description, enabled, lease days from the anchor (None: no lease), quota MB, used MB, last result,
#  hours since last active (None: never), backups, replicas, workstations, servers, max concurrent tasks).
_TENANTS: tuple[tuple[str, str, str, bool, int | None, int, int, str, float | None, int, int, int, int, int],
                ...] = (
    ("ACME", "Standalone", "ACME Corp. off-site backups", True, None, 2_097_152, 1_536_000, "Success", 2.5,
     12, 0, 3, 2, 4),
    ("TECH\\contoso-backup", "ActiveDirectory", "Contoso (AD account)", True, 20, 1_048_576, 1_041_203, "Warning",
     27.0, 8, 2, 0, 1, 2),
    (NEVER_ACTIVE_TENANT, "Standalone", "Fabrikam trial", True, -3, 512_000, 0, "None", None, 0, 0, 0, 0, 1),
)


def msp(c: Coverage) -> None:
    b, g, facts, data = c.b, c.g, c.b.facts, c.data
    vcd_server = b.server_ids[1] if len(b.server_ids) > 1 else b.server_ids[0]
    repo = b.repo_by_key["local1"]
    template = next((j.id for j in b.jobs.values() if j.platform == "vCloud" and j.server_id == vcd_server), None)
    host = f"urn:veeam:ManagedServer:{g.guid()}"
    for name, quota, used, disabled, scheduler, high in _ORGS:
        org = OrgConfig(
            id=g.guid(),
            name=name,
            server_id=vcd_server,
            repository_id=repo.id,
            host_uid=host,
            quota_gb=quota,
            used_quota_mb=used,
            is_disabled=disabled,
            scheduler_type=scheduler,
            high_priority=high,
            template_job_id=template,
        )
        data.org_configs[org.id] = org
    sid = b.server_ids[0]
    local = b.repo_by_key["local0"]
    for (name, kind, description, enabled, lease_days, quota_mb, used_mb, last_result, hours, backups, replicas,
         workstations, servers, tasks) in _TENANTS:
        account = name.rsplit("\\", 1)[-1]
        lease = None if lease_days is None else iso_utc(
            b.anchor_ticks // TICKS_PER_DAY * TICKS_PER_DAY + lease_days * TICKS_PER_DAY)
        last_active = SQL_MIN_DATETIME if hours is None else iso_utc(
            millis(b.anchor_ticks - int(hours * TICKS_PER_HOUR) + g.seconds(0, 600)))
        tenant = CloudTenant(
            id=g.guid(),
            name=name,
            description=description,
            server_id=sid,
            enabled=enabled,
            tenant_type=kind,
            lease_expiration=lease,
            resource_id=g.guid(),
            repository_id=local.id,
            quota_display_name=f"{account} cloud repository",
            quota_mb=quota_mb,
            used_quota_mb=used_mb,
            last_result=last_result,
            last_active=last_active,
            backup_count=backups,
            replica_count=replicas,
            workstation_count=workstations,
            server_count=servers,
            max_concurrent_tasks=tasks,
        )
        data.cloud_tenants[tenant.id] = tenant
        if hours is None:
            facts.never_active_tenant_id = tenant.id

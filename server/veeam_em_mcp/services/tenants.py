"""MSP views: Cloud Connect tenants and vCloud Director organizations, with their quotas and usage.

Only backup servers acting as Cloud Connect providers have tenants (``type=CloudTenant``), and only
vCloud Director organizations with a self-service configuration in EM have one
(``type=VCloudOrganizationConfig``). EM counts a tenant's quota in MB and an organization's in GB (its
use in MB): both are said in MB here. A query type this EM does not know (older versions) is said, not
guessed.
"""

from __future__ import annotations

from ..errors import BadRequest
from ..models.inventory import ListTenantsResult, TenantRow
from ..models.resources import CloudTenant, VCloudOrganizationConfig
from .context import EmContext
from .query_terms import BY_NAME
from .querying import read_all


async def list_tenants(em: EmContext) -> ListTenantsResult:
    rows: list[TenantRow] = []
    requests = 0
    notes: list[str] = []
    kinds = (("CloudTenant", "Cloud Connect tenants"), ("VCloudOrganizationConfig", "vCloud organizations"))
    for em_type, what in kinds:
        try:
            read = await read_all(em, em_type, sort=BY_NAME)
        except BadRequest as exc:
            requests += 1
            said = f" (EM said: {exc.em_message})" if exc.em_message else ""
            notes.append(f"{what} could not be read: this EM's query service refused them{said}.")
            continue
        requests += read.requests
        if read.issue:
            notes.append(read.issue)
        for item in read.items:
            if isinstance(item, CloudTenant):
                rows.append(_tenant(item))
            elif isinstance(item, VCloudOrganizationConfig):
                rows.append(_org(item))
    if not rows:
        notes.append("EM knows no Cloud Connect tenant and no vCloud organization configuration.")
    return ListTenantsResult(tenants=rows, returned=len(rows), em_requests=requests, note=" ".join(notes) or None)


def _percent(used: int | None, quota: int | None) -> float | None:
    return round(100 * used / quota, 1) if used is not None and quota else None


def _tenant(tenant: CloudTenant) -> TenantRow:
    return TenantRow(
        kind="cloud_connect_tenant",
        name=tenant.name,
        id=tenant.id,
        enabled=tenant.enabled,
        quota_mb=tenant.quota_mb,
        used_mb=tenant.used_quota_mb,
        used_percent=_percent(tenant.used_quota_mb, tenant.quota_mb),
        repository=tenant.repository,
        last_result=tenant.last_result,
        last_active=tenant.last_active,
        backup_server=tenant.backup_server.name if tenant.backup_server else None,
    )


def _org(org: VCloudOrganizationConfig) -> TenantRow:
    quota = org.quota_gb * 1024 if org.quota_gb is not None else None
    return TenantRow(
        kind="vcloud_organization",
        name=org.name,
        id=org.id,
        enabled=None if org.is_disabled is None else not org.is_disabled,
        quota_mb=quota,
        used_mb=org.used_quota_mb,
        used_percent=_percent(org.used_quota_mb, quota),
        repository=org.repository_friendly_name,
        backup_server=org.backup_server.name if org.backup_server else None,
    )

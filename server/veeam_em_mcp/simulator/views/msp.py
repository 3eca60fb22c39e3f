"""Views of the MSP side: vCloud Director organisation configs (GB and MB mixed) and Cloud Connect tenants (an
empty `Password`), as the reference documents them.
"""

from __future__ import annotations

from ..dataset.coverage_records import (
    CloudTenant,
    OrgConfig,
)
from ..render.resource import Embedded, FieldT, Link, Node, Resource
from .common import ViewContext, alternate, server_up, uid_of

# --- MSP views --------------------------------------------------------------------------------------------

def org_config(ctx: ViewContext, o: OrgConfig, entity: bool) -> Resource:
    """A vCloud Director self-service configuration: QuotaGb in GB, UsedQuotaMb in MB (reference §6.1)."""
    href = f"{ctx.base}/vCloud/orgConfigs/{o.id}"
    uid = uid_of("VCloudOrganizationConfig", o.id)
    up = server_up(ctx, o.server_id)
    if not entity:
        return Resource(element="VCloudOrganizationConfig", type="VCloudOrganizationConfigReference", href=href,
                        name=o.name, uid=uid,
                        links=[up, alternate(href, "VCloudOrganizationConfig", o.name, True)], is_ref=True)
    repo = ctx.dataset.repositories[o.repository_id]
    links = [
        up,
        alternate(href, "VCloudOrganizationConfigReference", o.name, False),
        Link(href, "Edit", "VCloudOrganizationConfig"),
        Link(href, "Delete", "VCloudOrganizationConfig"),
    ]
    settings = Node((
        ("JobSchedulerType", o.scheduler_type),
        ("HighPriorityJob", o.high_priority),
        ("TemplateJobUid", None if o.template_job_id is None else uid_of("Job", o.template_job_id)),
    ))
    fields: list[FieldT] = [
        ("BackupServerUid", uid_of("BackupServer", o.server_id)),
        ("RepositoryUid", uid_of("Repository", repo.id)),
        ("RepositoryFriendlyName", repo.name),
        ("HostUid", o.host_uid),
        ("QuotaGb", o.quota_gb),
        ("UsedQuotaMb", o.used_quota_mb),
        ("IsDisabled", o.is_disabled),
        ("JobSettings", settings),
    ]
    return Resource(element="VCloudOrganizationConfig", type="VCloudOrganizationConfig", href=f"{href}?format=Entity",
                    name=o.name, uid=uid,
                    links=links, fields=fields)


def cloud_tenant(ctx: ViewContext, t: CloudTenant, entity: bool) -> Resource:
    """A Cloud Connect tenant (9.5 U4 shape, BY-CT): Password present and empty, quotas in MB, lists wrapped in
    a plural key in JSON, a never-active tenant's LastActive at SQL Server's minimum datetime (1753)."""
    href = f"{ctx.base}/cloud/tenants/{t.id}"
    uid = uid_of("CloudTenant", t.id)
    up = server_up(ctx, t.server_id)
    if not entity:
        return Resource(element="CloudTenant", type="CloudTenantReference", href=href, name=t.name, uid=uid,
                        links=[up, alternate(href, "CloudTenant", t.name, True)], is_ref=True)
    links = [up, alternate(href, "CloudTenantReference", t.name, False), Link(href, "Edit", "CloudTenant"),
             Link(href, "Delete", "CloudTenant")]
    quota = Node((
        ("DisplayName", t.quota_display_name),
        ("RepositoryUid", uid_of("Repository", t.repository_id)),
        ("WanAcceleratorUid", None),
        ("Quota", t.quota_mb),
        ("UsedQuota", t.used_quota_mb),
    ))
    resource = Resource(element="CloudTenantResource", type=None, href=None, fields=[("RepositoryQuota", quota)],
                        attrs=[("Id", t.resource_id)], has_links=False)
    # No expiration: left out in XML and the 9.5 dialect (BY-CT), null in v12/v13.
    lease = Node((("LeaseExpirationDate", t.lease_expiration),), (("Enabled", t.lease_expiration is not None),))
    fields: list[FieldT] = [
        ("Description", t.description),
        ("Enabled", t.enabled),
        ("Password", ""),
        ("LeaseOptions", lease),
        ("Resources", Embedded("CloudTenantResources", (resource,))),
        ("ComputeResources", Embedded("CloudTenantComputeResources", ())),
        ("LastResult", t.last_result),
        ("LastActive", t.last_active),
        ("BackupCount", t.backup_count),
        ("ReplicaCount", t.replica_count),
        ("WorkStationBackupCount", t.workstation_count),
        ("ServerBackupCount", t.server_count),
        ("MaxConcurrentTasks", t.max_concurrent_tasks),
    ]
    return Resource(element="CloudTenant", type="CloudTenant", href=f"{href}?format=Entity", name=t.name, uid=uid,
                    links=links, fields=fields)

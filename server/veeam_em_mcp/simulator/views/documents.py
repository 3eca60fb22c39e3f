"""The documents that are no collection: the agents and vCloud service documents (the agents service types
`backupFiles` as `RestorePointReferenceList`), the logon session with its Down links, and the entry document.
"""

from __future__ import annotations

from ..render.resource import Link, Resource

# --- service documents ------------------------------------------------------------------------------------

def agents_service(base: str) -> Resource:
    """`GET /agents` (reference §5.1): Down links to the agent collections; `backupFiles` is typed
    `RestorePointReferenceList` (sic), as documented."""
    href = f"{base}/agents"
    links = [Link(f"{href}/{path}", "Down", type_) for type_, path in (
        ("AgentBackupJobReferenceList", "jobs"),
        ("AgentRestorePointReferenceList", "agentRestorePoints"),
        ("BackupReferenceList", "backups"),
        ("RestorePointReferenceList", "restorePoints"),
        ("RestorePointReferenceList", "backupFiles"),
        ("BackupJobSessionReferenceList", "backupSessions"),
        ("AgentProtectionGroupReferenceList", "protectionGroups"),
        ("DiscoveredComputerReferenceList", "discoveredComputers"),
    )]
    return Resource(element="Agents", type="AgentsService", href=href, links=links)


def vcloud_service(base: str) -> Resource:
    """`GET /vCloud`: only the organisation configurations are modelled (no capture of the document)."""
    href = f"{base}/vCloud"
    return Resource(element="VCloud", type="VCloudService", href=href, links=[
        Link(f"{href}/orgConfigs", "Down", "VCloudOrganizationConfigReferenceList"),
        Link(f"{href}/orgConfigs?format=Entity", "Down", "VCloudOrganizationConfigList"),
    ])


# Service documents by their (lower-case) path under /api.
SERVICES = {"agents": agents_service, "vcloud": vcloud_service}


# --- the logon session and the entry document ----------------------------------------------------------

# The Down links of a 12.x/13.x LogonSession, in server order (reference §1.4), keeping only what the simulator
# serves: collections it models, and those EM would answer with an empty list here (no vApps, catalog indexing
# off...). Not advertised: managedServers, hierarchyRoots, security, querySvc, lookupSvc, selfService/vSphere,
# nas (see docs/simulator-contract.md). The sample has no systemSessions or cloud link: they are served, unlinked.
SESSION_DOWN = (
    ("BackupServerReferenceList", "backupServers"),
    ("JobReferenceList", "jobs"), ("FailoverPlanReferenceList", "failoverPlans"),
    ("RepositoryReferenceList", "repositories"),
    ("BackupReferenceList", "backups"), ("RestorePointReferenceList", "restorePoints"),
    ("VmRestorePointReferenceList", "vmRestorePoints"),
    ("VAppRestorePointReferenceList", "vAppRestorePoints"), ("ReplicaReferenceList", "replicas"),
    ("VmReplicaPointReferenceList", "vmReplicaPoints"), ("CatalogVmReferenceList", "catalog/vms"),
    ("BackupJobSessionReferenceList", "backupSessions"),
    ("RestoreSessionReferenceList", "restoreSessions"),
    ("ReplicaJobSessionReferenceList", "replicaSessions"),
    ("BackupTaskSessionReferenceList", "backupTaskSessions"),
    ("ReplicaTaskSessionReferenceList", "replicaTaskSessions"),
    ("WanAcceleratorReferenceList", "wanAccelerators"),
    ("BackupFileReferenceList", "backupFiles"),
    ("ExternalRepositoryReferenceList", "externalRepositories"), ("TaskList", "tasks"),
    ("Report", "reports/summary"),
    ("BackupServerList", "backupServers?format=Entity"),
    ("JobList", "jobs?format=Entity"), ("FailoverPlanList", "failoverPlans?format=Entity"),
    ("RepositoryList", "repositories?format=Entity"), ("BackupList", "backups?format=Entity"),
    ("RestorePointList", "restorePoints?format=Entity"),
    ("VmRestorePointList", "vmRestorePoints?format=Entity"),
    ("VAppRestorePointList", "vAppRestorePoints?format=Entity"), ("ReplicaList", "replicas?format=Entity"),
    ("VmReplicaPointList", "vmReplicaPoints?format=Entity"), ("CatalogVmList", "catalog/vms?format=Entity"),
    ("BackupJobSessionList", "backupSessions?format=Entity"),
    ("RestoreSessionList", "restoreSessions?format=Entity"),
    ("ReplicaJobSessionList", "replicaSessions?format=Entity"),
    ("BackupTaskSessionList", "backupTaskSessions?format=Entity"),
    ("ReplicaTaskSessionList", "replicaTaskSessions?format=Entity"),
    ("WanAcceleratorList", "wanAccelerators?format=Entity"),
    ("VCloudService", "vCloud"),
    ("BackupFileList", "backupFiles?format=Entity"),
    ("AgentsService", "agents"),
    ("ExternalRepositoryList", "externalRepositories?format=Entity"),
)


def logon_session(base: str, session_id: str, user_name: str) -> Resource:
    href = f"{base}/logonSessions/{session_id}"
    links = [Link(f"{base}/", "Up", "EnterpriseManager")]
    for type_, path in SESSION_DOWN:
        links.append(Link(f"{base}/{path}", "Down", type_, "Summary" if type_ == "Report" else None))
    links.append(Link(href, "Delete", "LogonSession"))
    return Resource(element="LogonSession", type="LogonSession", href=href, links=links,
                    fields=[("UserName", user_name), ("SessionId", session_id)])


SUPPORTED_VERSIONS = ("v1_5", "v1_6", "v1_7")


def enterprise_manager_links(base: str) -> tuple[list[Link], list[tuple[str, list[Link]]]]:
    links = [
        Link(f"{base}/logonSessions", "Down", "LogonSessionList"),
        Link(f"{base}/sessionMngr/?v=latest", "Create", "LogonSession"),
    ]
    versions = [(v, [Link(f"{base}/sessionMngr/?v={v}", "Create", "LogonSession")]) for v in SUPPORTED_VERSIONS]
    return links, versions

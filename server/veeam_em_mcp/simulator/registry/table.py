"""The table of rows: every collection and query type the simulator serves, one row each."""

from __future__ import annotations

from ..views.agents import agent_include, agent_job, agent_restore_point, discovered_computer, protection_group
from ..views.backups import backup, backup_file, backup_server, repository, restore_point, vm_restore_point
from ..views.common import unmodelled
from ..views.jobs import job, linked_job, object_in_job
from ..views.msp import cloud_tenant, org_config
from ..views.replicas import replica, replica_session, replica_task_session, vm_replica_point
from ..views.sessions import job_session, restore_session, system_session, task_session
from .query_fields import (
    agent_job_fields,
    agent_point_fields,
    backup_fields,
    backup_file_fields,
    backup_server_fields,
    cloud_tenant_fields,
    discovered_computer_fields,
    job_fields,
    job_session_fields,
    object_in_job_fields,
    org_config_fields,
    protection_group_fields,
    replica_fields,
    replica_session_fields,
    repository_fields,
    restore_point_fields,
    restore_session_fields,
    system_session_fields,
    task_session_fields,
    vm_point_fields,
    vm_replica_point_fields,
)
from .row import Child, Row
from .sources import (
    BACKUP_FILES,
    RESTORE_POINTS,
    VM_POINTS,
    agent_backup_files,
    agent_backups,
    agent_management,
    agent_restore_points,
    agent_sessions,
    by_ids,
    items_of,
    no_children,
    no_items,
    system_events,
    unmodelled_row,
)

ROWS: tuple[Row, ...] = (
    Row(type_name="VmRestorePoint", plural="VmRestorePoints", items=lambda d: d.vm_restore_points,
        view=vm_restore_point, label="VM restore point", segment="vmRestorePoints",
        # Mounts live only within a logon session and none are ever created here.
        children=(Child("mounts", "VmRestorePointMount", no_children),), query=vm_point_fields),
    Row(type_name="RestorePoint", plural="RestorePoints", items=lambda d: d.restore_points, view=restore_point,
        label="restore point", segment="restorePoints", children=(VM_POINTS, BACKUP_FILES), query=restore_point_fields),
    Row(type_name="BackupFile", plural="BackupFiles", items=lambda d: d.backup_files, view=backup_file,
        label="backup file", segment="backupFiles", children=(VM_POINTS, RESTORE_POINTS), query=backup_file_fields),
    Row(type_name="Backup", plural="Backups", items=lambda d: d.backups, view=backup, label="backup", segment="backups",
        children=(RESTORE_POINTS, BACKUP_FILES), query=backup_fields),
    Row(type_name="BackupServer", plural="BackupServers", items=lambda d: d.backup_servers, view=backup_server,
        label="backup server", segment="backupServers", children=(
            Child("jobs", "Job", by_ids("jobs", "job_ids")),
            Child("repositories", "Repository", by_ids("repositories", "repository_ids")),
            Child("externalRepositories", "ExternalRepository", no_children),
        ), query=backup_server_fields),
    Row(type_name="Job", plural="Jobs", items=lambda d: d.jobs, view=job, label="job", segment="jobs", children=(
        Child("includes", "ObjectInJob", by_ids("objects_in_job", "object_ids"), addressable=True),
        Child("backupSessions", "BackupJobSession", by_ids("job_sessions", "session_ids")),
        # A backup copy job's sources (empty for other jobs); repository sources are not modelled.
        Child("linkedJobs", "LinkedJobObject", items_of("linked_jobs", "job_id"), addressable=True),
        Child("linkedBackupRepositories", "LinkedBackupRepositoryObject", no_children, addressable=True),
    ), query=job_fields),
    Row(type_name="LinkedJobObject", plural="LinkedJobObjects", items=lambda d: d.linked_jobs, view=linked_job,
        label="linked job", segment=None, resource_only=True, xml_plural="LinkedJobResourceObjects"),
    Row(type_name="LinkedBackupRepositoryObject", plural="LinkedBackupRepositories", items=no_items, view=unmodelled,
        label="linked backup repository", segment=None, resource_only=True,
        xml_plural="LinkedBackupRepositoryResourceObjects"),
    Row(type_name="ObjectInJob", plural="ObjectInJobs", items=lambda d: d.objects_in_job, view=object_in_job,
        label="object in job", segment=None, query=object_in_job_fields, resource_only=True, xml_plural="ObjectsInJob",
        query_xml_plural="sInObjectJob"),
    Row(type_name="Repository", plural="Repositories", items=lambda d: d.repositories, view=repository,
        label="repository", segment="repositories", children=(
            Child("backups", "Backup", by_ids("backups", "backup_ids")),
            Child("replicas", "Replica", items_of("replicas", "repository_id")),
        ), query=repository_fields),
    Row(type_name="BackupJobSession", plural="BackupJobSessions", items=lambda d: d.job_sessions, view=job_session,
        label="backup job session", segment="backupSessions", children=(
            Child("taskSessions", "BackupTaskSession", by_ids("task_sessions", "task_ids")),
            # An AgentBackup session's per-computer AgentManagement sessions (empty for other sessions).
            Child("agentManagementSessions", "BackupJobSession", agent_management),
        ), query=job_session_fields),
    Row(type_name="BackupTaskSession", plural="BackupTaskSessions", items=lambda d: d.task_sessions, view=task_session,
        label="backup task session", segment="backupTaskSessions", query=task_session_fields),
    Row(type_name="VmRestorePointMount", plural="VmRestorePointMounts", items=no_items, view=unmodelled, label="mount",
        segment=None, resource_only=True),
    # --- replication --------------------------------------------------------------------------------------
    Row(type_name="Replica", plural="Replicas", items=lambda d: d.replicas, view=replica, label="replica",
        segment="replicas",
        children=(Child("vmReplicaPoints", "VmReplicaPoint", items_of("vm_replica_points", "replica_id")),),
        query=replica_fields),
    Row(type_name="VmReplicaPoint", plural="VmReplicaPoints", items=lambda d: d.vm_replica_points,
        view=vm_replica_point, label="VM replica point", segment="vmReplicaPoints",
        children=(Child("mounts", "VmReplicaPointMount", no_children),), query=vm_replica_point_fields),
    Row(type_name="VmReplicaPointMount", plural="VmReplicaPointMounts", items=no_items, view=unmodelled, label="mount",
        segment=None, resource_only=True),
    Row(type_name="ReplicaJobSession", plural="ReplicaJobSessions", items=lambda d: d.replica_sessions,
        view=replica_session, label="replica job session", segment="replicaSessions",
        children=(Child("replicaTaskSessions", "ReplicaTaskSession", by_ids("replica_task_sessions", "task_ids")),),
        query=replica_session_fields),
    Row(type_name="ReplicaTaskSession", plural="ReplicaTaskSessions", items=lambda d: d.replica_task_sessions,
        view=replica_task_session, label="replica task session", segment="replicaTaskSessions",
        query=task_session_fields),
    # --- restores and EM's own sessions ------------------------------------------------------------------
    Row(type_name="RestoreSession", plural="RestoreSessions", items=lambda d: d.restore_sessions, view=restore_session,
        label="restore session", segment="restoreSessions", query=restore_session_fields),
    Row(type_name="SystemSession", plural="SystemSessions", items=lambda d: d.system_sessions, view=system_session,
        label="system session", segment="systemSessions",
        children=(Child("events", "SystemSession", no_children, render=system_events),), query=system_session_fields,
        json_list_key="Sessions", item_element="Sessions", list_entities=True),
    # --- Veeam Agent --------------------------------------------------------------------------------------
    Row(type_name="AgentBackupJob", plural="AgentBackupJob", items=lambda d: d.agent_jobs, view=agent_job,
        label="agent backup job", segment="agents/jobs", children=(
            Child("includes", "ObjectInAgentBackupJob", by_ids("agent_includes", "object_ids"), addressable=True),
            Child("backupSessions", "BackupJobSession", by_ids("job_sessions", "session_ids")),
        ), query=agent_job_fields, xml_plural="AgentBackupJobs", json_list_key="AgentBackupJobs"),
    Row(type_name="ObjectInAgentBackupJob", plural="ObjectInAgentBackupJobs", items=lambda d: d.agent_includes,
        view=agent_include, label="object in agent backup job", segment=None, resource_only=True,
        xml_plural="ObjectsInAgentBackupJob"),
    Row(type_name="AgentRestorePoint", plural="AgentRestorePoints", items=lambda d: d.agent_restore_points,
        view=agent_restore_point, label="agent restore point", segment="agents/agentRestorePoints",
        children=(Child("mounts", "AgentRestorePointMount", no_children),), query=agent_point_fields),
    Row(type_name="AgentRestorePointMount", plural="AgentRestorePointMounts", items=no_items, view=unmodelled,
        label="mount", segment=None, resource_only=True),
    Row(type_name="AgentProtectionGroup", plural="AgentProtectionGroups", items=lambda d: d.protection_groups,
        view=protection_group, label="agent protection group", segment="agents/protectionGroups",
        children=(Child("discoveredComputers", "DiscoveredComputer", items_of("discovered_computers", "group_id")),),
        query=protection_group_fields),
    Row(type_name="DiscoveredComputer", plural="DiscoveredComputers", items=lambda d: d.discovered_computers,
        view=discovered_computer, label="discovered computer", segment="agents/discoveredComputers",
        query=discovered_computer_fields),
    Row(type_name="Backup", plural="Backups", items=agent_backups, view=backup, label="backup",
        segment="agents/backups", canonical="backups"),
    Row(type_name="RestorePoint", plural="RestorePoints", items=agent_restore_points, view=restore_point,
        label="restore point", segment="agents/restorePoints", canonical="restorePoints"),
    Row(type_name="BackupFile", plural="BackupFiles", items=agent_backup_files, view=backup_file, label="backup file",
        segment="agents/backupFiles", canonical="backupFiles"),
    Row(type_name="BackupJobSession", plural="BackupJobSessions", items=agent_sessions, view=job_session,
        label="backup job session", segment="agents/backupSessions", canonical="backupSessions"),
    # --- MSP views ------------------------------------------------------------------------------------------
    Row(type_name="VCloudOrganizationConfig", plural="VCloudOrganizationConfigs", items=lambda d: d.org_configs,
        view=org_config, label="vCloud organization config", segment="vCloud/orgConfigs", query=org_config_fields),
    Row(type_name="CloudTenant", plural="CloudTenants", items=lambda d: d.cloud_tenants, view=cloud_tenant,
        label="cloud tenant", segment="cloud/tenants", query=cloud_tenant_fields),
    # --- empty here -------------------------------------------------------------------------------------------
    unmodelled_row("FailoverPlan", "FailoverPlans", "failover plan", "failoverPlans"),
    unmodelled_row("VAppRestorePoint", "VAppRestorePoints", "vApp restore point", "vAppRestorePoints"),
    unmodelled_row("CatalogVm", "CatalogVms", "catalog VM", "catalog/vms", guid_ids=False),
    unmodelled_row("WanAccelerator", "WanAccelerators", "WAN accelerator", "wanAccelerators"),
    unmodelled_row("ExternalRepository", "ExternalRepositories", "external repository", "externalRepositories"),
    # Async operations: none is ever started (the simulator never writes), so the task list is empty.
    unmodelled_row("Task", "Tasks", "task", "tasks", guid_ids=False),
)

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
    Row("VmRestorePoint", "VmRestorePoints", lambda d: d.vm_restore_points, vm_restore_point,
        "VM restore point", "vmRestorePoints",
        # Mounts live only within a logon session and none are ever created here.
        (Child("mounts", "VmRestorePointMount", no_children),), vm_point_fields),
    Row("RestorePoint", "RestorePoints", lambda d: d.restore_points, restore_point, "restore point",
        "restorePoints", (VM_POINTS, BACKUP_FILES), restore_point_fields),
    Row("BackupFile", "BackupFiles", lambda d: d.backup_files, backup_file, "backup file", "backupFiles",
        (VM_POINTS, RESTORE_POINTS), backup_file_fields),
    Row("Backup", "Backups", lambda d: d.backups, backup, "backup", "backups",
        (RESTORE_POINTS, BACKUP_FILES), backup_fields),
    Row("BackupServer", "BackupServers", lambda d: d.backup_servers, backup_server, "backup server",
        "backupServers", (
            Child("jobs", "Job", by_ids("jobs", "job_ids")),
            Child("repositories", "Repository", by_ids("repositories", "repository_ids")),
            Child("externalRepositories", "ExternalRepository", no_children),
        ), backup_server_fields),
    Row("Job", "Jobs", lambda d: d.jobs, job, "job", "jobs", (
        Child("includes", "ObjectInJob", by_ids("objects_in_job", "object_ids"), addressable=True),
        Child("backupSessions", "BackupJobSession", by_ids("job_sessions", "session_ids")),
        # A backup copy job's sources (empty for other jobs); repository sources are not modelled.
        Child("linkedJobs", "LinkedJobObject", items_of("linked_jobs", "job_id"), addressable=True),
        Child("linkedBackupRepositories", "LinkedBackupRepositoryObject", no_children, addressable=True),
    ), job_fields),
    Row("LinkedJobObject", "LinkedJobObjects", lambda d: d.linked_jobs, linked_job, "linked job", None,
        resource_only=True, xml_plural="LinkedJobResourceObjects"),
    Row("LinkedBackupRepositoryObject", "LinkedBackupRepositories", no_items, unmodelled,
        "linked backup repository", None, resource_only=True, xml_plural="LinkedBackupRepositoryResourceObjects"),
    Row("ObjectInJob", "ObjectInJobs", lambda d: d.objects_in_job, object_in_job, "object in job", None,
        query=object_in_job_fields, resource_only=True, xml_plural="ObjectsInJob",
        query_xml_plural="sInObjectJob"),
    Row("Repository", "Repositories", lambda d: d.repositories, repository, "repository", "repositories", (
        Child("backups", "Backup", by_ids("backups", "backup_ids")),
        Child("replicas", "Replica", items_of("replicas", "repository_id")),
    ), repository_fields),
    Row("BackupJobSession", "BackupJobSessions", lambda d: d.job_sessions, job_session,
        "backup job session", "backupSessions", (
            Child("taskSessions", "BackupTaskSession", by_ids("task_sessions", "task_ids")),
            # An AgentBackup session's per-computer AgentManagement sessions (empty for other sessions).
            Child("agentManagementSessions", "BackupJobSession", agent_management),
        ), job_session_fields),
    Row("BackupTaskSession", "BackupTaskSessions", lambda d: d.task_sessions, task_session,
        "backup task session", "backupTaskSessions", query=task_session_fields),
    Row("VmRestorePointMount", "VmRestorePointMounts", no_items, unmodelled, "mount", None,
        resource_only=True),
    # --- replication --------------------------------------------------------------------------------------
    Row("Replica", "Replicas", lambda d: d.replicas, replica, "replica", "replicas",
        (Child("vmReplicaPoints", "VmReplicaPoint", items_of("vm_replica_points", "replica_id")),), replica_fields),
    Row("VmReplicaPoint", "VmReplicaPoints", lambda d: d.vm_replica_points, vm_replica_point,
        "VM replica point", "vmReplicaPoints", (Child("mounts", "VmReplicaPointMount", no_children),),
        vm_replica_point_fields),
    Row("VmReplicaPointMount", "VmReplicaPointMounts", no_items, unmodelled, "mount", None, resource_only=True),
    Row("ReplicaJobSession", "ReplicaJobSessions", lambda d: d.replica_sessions, replica_session,
        "replica job session", "replicaSessions",
        (Child("replicaTaskSessions", "ReplicaTaskSession", by_ids("replica_task_sessions", "task_ids")),),
        replica_session_fields),
    Row("ReplicaTaskSession", "ReplicaTaskSessions", lambda d: d.replica_task_sessions, replica_task_session,
        "replica task session", "replicaTaskSessions", query=task_session_fields),
    # --- restores and EM's own sessions ------------------------------------------------------------------
    Row("RestoreSession", "RestoreSessions", lambda d: d.restore_sessions, restore_session,
        "restore session", "restoreSessions", query=restore_session_fields),
    Row("SystemSession", "SystemSessions", lambda d: d.system_sessions, system_session, "system session",
        "systemSessions", (Child("events", "SystemSession", no_children, render=system_events),),
        system_session_fields, json_list_key="Sessions", item_element="Sessions", list_entities=True),
    # --- Veeam Agent --------------------------------------------------------------------------------------
    Row("AgentBackupJob", "AgentBackupJob", lambda d: d.agent_jobs, agent_job, "agent backup job",
        "agents/jobs", (
            Child("includes", "ObjectInAgentBackupJob", by_ids("agent_includes", "object_ids"), addressable=True),
            Child("backupSessions", "BackupJobSession", by_ids("job_sessions", "session_ids")),
        ), agent_job_fields, xml_plural="AgentBackupJobs", json_list_key="AgentBackupJobs"),
    Row("ObjectInAgentBackupJob", "ObjectInAgentBackupJobs", lambda d: d.agent_includes, agent_include,
        "object in agent backup job", None, resource_only=True, xml_plural="ObjectsInAgentBackupJob"),
    Row("AgentRestorePoint", "AgentRestorePoints", lambda d: d.agent_restore_points, agent_restore_point,
        "agent restore point", "agents/agentRestorePoints", (Child("mounts", "AgentRestorePointMount", no_children),),
        agent_point_fields),
    Row("AgentRestorePointMount", "AgentRestorePointMounts", no_items, unmodelled, "mount", None,
        resource_only=True),
    Row("AgentProtectionGroup", "AgentProtectionGroups", lambda d: d.protection_groups, protection_group,
        "agent protection group", "agents/protectionGroups",
        (Child("discoveredComputers", "DiscoveredComputer", items_of("discovered_computers", "group_id")),),
        protection_group_fields),
    Row("DiscoveredComputer", "DiscoveredComputers", lambda d: d.discovered_computers, discovered_computer,
        "discovered computer", "agents/discoveredComputers", query=discovered_computer_fields),
    Row("Backup", "Backups", agent_backups, backup, "backup", "agents/backups", canonical="backups"),
    Row("RestorePoint", "RestorePoints", agent_restore_points, restore_point, "restore point",
        "agents/restorePoints", canonical="restorePoints"),
    Row("BackupFile", "BackupFiles", agent_backup_files, backup_file, "backup file", "agents/backupFiles",
        canonical="backupFiles"),
    Row("BackupJobSession", "BackupJobSessions", agent_sessions, job_session, "backup job session",
        "agents/backupSessions", canonical="backupSessions"),
    # --- MSP views ------------------------------------------------------------------------------------------
    Row("VCloudOrganizationConfig", "VCloudOrganizationConfigs", lambda d: d.org_configs, org_config,
        "vCloud organization config", "vCloud/orgConfigs", query=org_config_fields),
    Row("CloudTenant", "CloudTenants", lambda d: d.cloud_tenants, cloud_tenant, "cloud tenant",
        "cloud/tenants", query=cloud_tenant_fields),
    # --- empty here -------------------------------------------------------------------------------------------
    unmodelled_row("FailoverPlan", "FailoverPlans", "failover plan", "failoverPlans"),
    unmodelled_row("VAppRestorePoint", "VAppRestorePoints", "vApp restore point", "vAppRestorePoints"),
    unmodelled_row("CatalogVm", "CatalogVms", "catalog VM", "catalog/vms", guid_ids=False),
    unmodelled_row("WanAccelerator", "WanAccelerators", "WAN accelerator", "wanAccelerators"),
    unmodelled_row("ExternalRepository", "ExternalRepositories", "external repository", "externalRepositories"),
    # Async operations: none is ever started (the simulator never writes), so the task list is empty.
    unmodelled_row("Task", "Tasks", "task", "tasks", guid_ids=False),
)

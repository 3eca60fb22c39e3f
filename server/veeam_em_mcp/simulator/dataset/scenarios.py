"""The estate's names and its seeded scenarios, declared once: every builder, test and benchmark names them from here.

A scenario is the outcome the builder forces on some VMs in some runs of one job (`Scenario`, counted back from
the job's newest run); the rest of this module is the names (jobs, VMs, hosts) and reason texts they use.
docs/simulator-contract.md lists what each demonstrates.
"""

from __future__ import annotations

from dataclasses import dataclass

SQL01_NEWEST_POINT_ID = "6c958531-3177-4055-b0ce-dc4ef1ce6433"

# Names of the fixed facts (docs/simulator-contract.md lists what each demonstrates).
SQL_JOB = "SQL Backup"
RETRY_JOB = "Web Backup"
RUNNING_JOB = "Hyper-V Infrastructure"
DISABLED_JOB = "Hyper-V File Servers"
FOLDER_JOB = "Infrastructure Backup"
COPY_JOB = "Periodic Backup Copy Job"
FOLDER_NAME = "Infrastructure"
LAST_TWO_FAILED_VM = "exch01"
FOLDER_ONLY_VM = "print01"
NEVER_BACKED_UP_VM = "crm01"
RETRY_VM = "web02"
# The twins (`build_dataset(twins=True)`): the second SQL job's other VM, the second vCloud job, the vCenter
# the second sql01 lives in (named in its failure reason).
TWIN_SQL_VM = "sql01"
TWIN_SQL_PEER_VM = "sqlrpt01"
TWIN_VCD_VM = "vcd-web01"
TWIN_VCD_JOB = "vCloud Org B"
TWIN_VCENTER = "vcsa02.tech.local"
# Runs of the twin SQL job at the end of the window in which the twin sql01 failed (first attempt and retries).
TWIN_FAILED_RUNS = 3

# --- names of the coverage scenarios -------------------------------------------------------------------------
REPLICA_JOB = "Hyper-V Replication"
# The VMs it replicates (those that exist at this vm_count), and the one that fails in its newest run.
REPLICA_VMS = ("hv-dc01", "wsus01", "fileserver01")
REPLICA_FAILED_VM = "wsus01"
REPLICA_HOST = "hv-dr01.tech.local"
WINDOWS_AGENT_JOB = "Windows Agent Backup"
LINUX_AGENT_JOB = "Linux Agent Backup"
FAILING_COMPUTER = "srv-app01.tech.local"
COLLECT_INTERVAL_MINUTES = 15
# For the last STALE_HOURS hours EM's collection from the second backup server (vbr02) fails.
STALE_HOURS = 5
# The Cloud Connect tenant that never connected (LastActive = SQL Server's minimum datetime).
NEVER_ACTIVE_TENANT = "Fabrikam"
SQL_MIN_DATETIME = "1753-01-01T00:00:00Z"

REASON_REPLICA = (
    "Processing {vm} Error: Failed to apply replica changes to '{vm}_replica' on host '" + REPLICA_HOST + "': The "
    "Hyper-V Virtual Machine Management service failed to create the replica checkpoint. Insufficient system "
    "resources exist to complete the requested service. (0x800705AA) Agent failed to process method "
    "{ReplicaTarget.ApplyChanges}."
)
# EM's documentation gives no text for a failed per-server collection; this is the simulator's wording.
COLLECT_FAILED = (
    "Failed to collect data from {server}: Failed to connect to Veeam Backup & Replication server {server}:9392. "
    "No connection could be made because the target machine actively refused it."
)

# Automatic retries as the jobs are configured (JobScheduleOptions RetryOptions): twice, 10 minutes apart.
RETRY_TIMES = 2
RETRY_WAIT_MINUTES = 10
# EM's own time zone (the reports' local midnights).
EM_UTC_OFFSET_HOURS = 2

# --- failure and warning texts (`{vm}`, `{moref}`, `{host}`, `{ip}`, `{file}` are filled in) ----------------
# The quiescing text is a real EM 13 capture (httpapi_exporter samples), with the VM name substituted.
REASON_QUIESCE = (
    "Processing {vm} Error: An error occurred while quiescing the virtual machine. See the virtual machine's "
    "event log for details. (An error occurred while saving the snapshot: Failed to quiesce the virtual "
    "machine., An error occurred while taking a snapshot: Failed to quiesce the virtual machine.)"
)
REASON_SNAPSHOT_VMWARE = (
    "Processing {vm} Error: Failed to create VM snapshot. Error: CreateSnapshot failed, vmRef {moref}, "
    "timeout 1800000, snName \"VEEAM BACKUP TEMPORARY SNAPSHOT\", snDescription \"Please do not delete this "
    "snapshot. It is being used by Veeam Backup.\", memory False, quiesce False. Task has failed: An error "
    "occurred while taking a snapshot: Unable to access file [datastore02] {vm}/{vm}.vmdk since it is locked."
)
REASON_SNAPSHOT_HYPERV = (
    "Processing {vm} Error: Failed to create VM recovery checkpoint (mode: Veeam application-aware "
    "processing). Details: Job failed ('Checkpoint operation for '{vm}' failed. (Virtual machine ID {moref}) "
    "Checkpoint operation for '{vm}' was cancelled. (Virtual machine ID {moref})')."
)
REASON_NETWORK = (
    "Processing {vm} Error: Failed to connect to the agent's endpoint '{ip}:2500'. Host: '{host}'. An existing "
    "connection was forcibly closed by the remote host. Failed to process [DataTransfer.SyncDisk]. Agent failed "
    "to process method {DataTransfer.SyncDisk}."
)
REASON_OUT_OF_SPACE = (
    "Processing {vm} Error: There is not enough space on the disk. Failed to write data to the file [{file}]. "
    "Repository 'DD Boost Repository' is out of free space: 0 B left. Agent failed to process method "
    "{DataTransfer.SyncDisk}."
)
WARNING_SQL_LOGS = (
    "Processing {vm} Warning: Failed to truncate Microsoft SQL Server transaction logs. Details: Failed to call "
    "RPC function 'Vss.TruncateSqlLogs': Error code: 0x80004005. Failed to invoke func [TruncateSqlLogs]: "
    "Unspecified error. Failed to truncate transaction logs for SQL instances: MSSQLSERVER."
)
WARNING_CBT = (
    "Processing {vm} Warning: Changed block tracking cannot be enabled: one or more snapshots present. Unable "
    "to use changed block tracking, full disk read will be performed."
)
WARNING_CHECKPOINT = (
    "Processing {vm} Warning: Failed to create VM recovery checkpoint in the application-consistent mode, "
    "falling back to a crash-consistent checkpoint. Details: The Hyper-V Volume Shadow Copy Requestor service "
    "of the guest OS is not running."
)

# A VDDK read failure (the transport cannot open the disk through the vCenter): the twin sql01's reason.
REASON_VDDK = (
    "Processing {vm} Error: Failed to open VDDK disk [[datastore11] {vm}/{vm}.vmdk] ( is read-only mode - [true] ) "
    "Logon attempt with parameters [VC/ESX: [{vcenter}];Port: 443;Login: [TECH\\svc-veeam];VMX Spec: "
    "[moref={moref}];Transports: [nbd];Read Only: [true]] failed because of the following errors: Failed to "
    "open disk for read. Failed to upload disk. Agent failed to process method {DataTransfer.SyncDisk}."
)

# Chance of a random failure / warning per backup task (random failures are always fixed by a retry).
RANDOM_FAILURE_RATE = 0.012
RANDOM_WARNING_RATE = 0.02


# --- the seeded scenarios: which runs of which job each one shapes --------------------------------------------


@dataclass(frozen=True, slots=True)
class Scenario:
    """The runs of `job` a scenario shapes: `runs` consecutive runs, the first `from_end` runs back from the job's
    newest (1 = the newest run; a job's runs are counted oldest first, 0 to n - 1)."""

    job: str
    from_end: int
    runs: int = 1

    def shapes(self, job: str, r: int, n: int) -> bool:
        """Whether run `r` of the `n` runs of the job named `job` is one this scenario shapes."""
        return job == self.job and n - self.from_end <= r < n - self.from_end + self.runs


# RETRY_VM fails, its retry fails, the second retry succeeds (and proxy01 fails once): 6 runs back, the run 5
# days before the newest, so both retries are long over whatever the anchor.
RETRY_CHAIN = Scenario(RETRY_JOB, from_end=6)
RETRY_ONCE_VM = "proxy01"
# Every VM fails (repository out of space) and the first retry succeeds: the run 8 runs before the running one.
ALL_FAILED = Scenario(RUNNING_JOB, from_end=9)
# LAST_TWO_FAILED_VM fails its job's last two runs, first attempts and both retries.
LAST_TWO_FAILED = Scenario(FOLDER_JOB, from_end=2, runs=2)
# sql02 warns (SQL log truncation) in its job's newest run.
SQL_LOG_WARNING_VM = "sql02"
SQL_LOG_WARNING = Scenario(SQL_JOB, from_end=1)
# The twin sql01 fails the twin SQL job's last TWIN_FAILED_RUNS runs (first attempt and retries).
TWIN_SQL01_FAILURES = Scenario(SQL_JOB, from_end=TWIN_FAILED_RUNS, runs=TWIN_FAILED_RUNS)
# The coverage phase: REPLICA_FAILED_VM fails the replication job's newest run, FAILING_COMPUTER the Windows agent
# job's.
REPLICA_FAILURE = Scenario(REPLICA_JOB, from_end=1)
AGENT_FAILURE = Scenario(WINDOWS_AGENT_JOB, from_end=1)

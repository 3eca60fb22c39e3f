"""The rest of what a real Enterprise Manager serves, added to the estate after the normal build (`coverage=True`).

Reference: shared/reference/em-rest-api-coverage.md. `build_dataset` runs this phase after the normal build and
before the twins, each part from its own `random.Random("coverage/<seed>/<part>")`, so not one id, name, time or
outcome of the normal estate changes (new items come after the old ones in storage order; existing objects only
gain entries in id lists: the S3 and local repositories' `backup_ids`, vbr02's `job_ids`, web VMs'
`points_by_vm`). The parts, in order (docs/simulator-contract.md, "Coverage", lists the facts):

- copy: the backup copy job's sources (`LinkedJob`, `ImmediateBackupCopyJobInfo.LinkedJobIncludes`), its own
  `Backup` in `Amazon S3 Copy`, and per copy-worker session one RestorePoint + BackupFile holding one copied
  `VmRestorePoint` per successful worker task (CreationTimeUTC = the task's end time). Worker sessions and tasks
  are not touched (they keep no `Related` links, as on real servers).
- replication: `Hyper-V Replication` (JobType `Replica`, vbr02, daily seven hours before the anchor's hour, so its
  newest run finished before vbr02 went stale) replicating hv-dc01, wsus01 and fileserver01: a `Replica`, one
  `ReplicaJobSession` per run with a `ReplicaTaskSession` per VM, and a `VmReplicaPoint` exactly where a replica
  task succeeded; wsus01 fails in the newest run. No retry sessions, no retention (all points are kept).
- agents: two Veeam Agent jobs on vbr01 (`Windows Agent Backup`, `Linux Agent Backup`), their protection groups and
  four discovered computers; per run an `AgentBackup` parent session and one `AgentManagement` session per
  computer (in `job_sessions`), and per successful computer a RestorePoint, a BackupFile and an
  `AgentRestorePoint`; srv-app01 (Offline) fails in the Windows job's newest run.
- restores: eight `RestoreSession`s over the last 14 days (FLR and full VM restores, one failed, the newest still
  running, one without a `Related` restore point).
- collect: EM's own `SystemSession`s: a `CollectJob` every 15 minutes over the last min(days, 30) days and a daily
  `CatalogReplicationJob`, each with its events; for the last `STALE_HOURS` hours the collection from vbr02 fails.
- msp: three vCloud Director self-service organisation configs and three Cloud Connect tenants on vbr01.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from datetime import timedelta

from .builder import Builder
from .clock import (
    TICKS_PER_DAY,
    TICKS_PER_HOUR,
    TICKS_PER_MINUTE,
    datetime_of,
    iso_utc,
    micro_text,
    millis,
    name_stamp,
    sql_style_name,
    ticks_of,
    to_second,
    us_local,
)
from .coverage_records import (
    AgentInclude,
    AgentRestorePoint,
    CloudTenant,
    CoverageData,
    DiscoveredComputer,
    LinkedJob,
    OrgConfig,
    ProtectionGroup,
    Replica,
    RestoreSession,
    SystemSession,
    VmReplicaPoint,
)
from .estate import JobSpec, chain_role
from .records import Backup, BackupFile, Job, JobSession, RestorePoint, TaskSession, Vm, VmRestorePoint, worst
from .scenarios import (
    AGENT_FAILURE,
    COLLECT_FAILED,
    COLLECT_INTERVAL_MINUTES,
    COPY_JOB,
    FAILING_COMPUTER,
    LINUX_AGENT_JOB,
    NEVER_ACTIVE_TENANT,
    REASON_REPLICA,
    REPLICA_FAILED_VM,
    REPLICA_FAILURE,
    REPLICA_JOB,
    REPLICA_VMS,
    SQL_MIN_DATETIME,
    STALE_HOURS,
    WINDOWS_AGENT_JOB,
)

# (protection group, platform, computers: (FQDN, IP, OS, agent version, host status)).
_AGENT_GROUPS = (
    ("Windows Servers", "AgentForWindows", (
        ("srv-file01.tech.local", "10.0.12.41", "Microsoft Windows Server 2022 Standard (64-bit) build 20348",
         "6.3.1.1074", "Online"),
        (FAILING_COMPUTER, "10.0.12.42", "Microsoft Windows Server 2019 Datacenter (64-bit) build 17763",
         "6.3.1.1074", "Offline"),
        ("srv-sql01.tech.local", "10.0.12.43", "Microsoft Windows Server 2022 Datacenter (64-bit) build 20348",
         "6.3.1.1074", "Online"),
    )),
    ("Linux Servers", "AgentForLinux", (
        ("lnx-web01.tech.local", "10.0.12.61", "Ubuntu 22.04.4 LTS (x86_64), kernel 5.15.0-112-generic",
         "6.3.0.1012", "Online"),
    )),
)
# (job, group index, daily start: (hours after the anchor's hour, minute) UTC). Relative to the anchor, so that
# the newest run (10 to 12.5 hours old) is over and inside the last 24 hours whatever the time of day (at a fixed
# hour, an anchor just after it left the job without a run in the last 24 hours). At the tests' fixed anchor
# (09:00): 21:30 and 22:45, the hours they had when they were fixed.
_AGENT_JOBS = ((WINDOWS_AGENT_JOB, 0, (12, 30)), (LINUX_AGENT_JOB, 1, (13, 45)))

# (hours before the anchor, JobType, preferred VM, Result (None: still running), Related link to the point).
_RESTORES: tuple[tuple[float, str, str, str | None, bool], ...] = (
    (13 * 24 + 5.2, "FileLevelRestore", "fileserver01", "Success", True),
    (11 * 24 + 2.7, "RestoreVm", "sql02", "Success", True),
    (9 * 24 + 6.1, "FileLevelRestore", "web01", "Success", True),
    # A Hyper-V restore without a Related link, as the scenario_vm_restore doc sample.
    (7 * 24 + 3.4, "RestoreVm", "hv-dc01", "Success", False),
    (5 * 24 + 1.9, "FileLevelRestore", "exch01", "Failed", True),
    (3 * 24 + 4.6, "RestoreVm", "app01", "Success", True),
    (1 * 24 + 2.3, "FileLevelRestore", "dc01", "Success", True),
    (20 / 60, "RestoreVm", "sql01", None, True),
)

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


class _Coverage:
    """The coverage phase over a finished `Builder` (its dicts receive the items of shared types)."""

    def __init__(self, b: Builder) -> None:
        self.b = b
        self.g = b.g
        self.data = CoverageData()
        self.window_start = b.anchor_ticks - b.days * TICKS_PER_DAY

    def run(self) -> CoverageData:
        parts: tuple[tuple[str, Callable[[], None]], ...] = (
            ("copy", self.copies), ("replication", self.replication), ("agents", self.agents),
            ("restores", self.restores), ("collect", self.system_sessions), ("msp", self.msp),
        )
        normal = self.g.rng
        try:
            for name, part in parts:
                # Reproducible demo data, not security; one stream per part, so parts do not shift each other.
                self.g.rng = random.Random(f"coverage/{self.b.seed}/{name}")  # noqa: S311
                part()
        finally:
            self.g.rng = normal
        return self.data

    # --- backup copy ---------------------------------------------------------------------------------------

    def copies(self) -> None:
        b, g, facts = self.b, self.g, self.b.facts
        job = next((j for j in b.jobs.values() if j.job_type == "ImmediateBackupCopy" and j.name == COPY_JOB), None)
        if job is None or not job.source_job_ids:
            return
        for source_id in job.source_job_ids:
            linked = LinkedJob(id=g.guid(), job_id=job.id, linked_job_id=source_id)
            self.data.linked_jobs[linked.id] = linked
        source = b.jobs[job.source_job_ids[0]]
        repo = b.repositories[job.repository_id]
        backup = Backup(id=g.guid(), name=job.name, server_id=job.server_id, repository_id=repo.id, job_id=job.id,
                        platform=source.platform, backup_type="Standard")
        b.backups[backup.id] = backup
        repo.backup_ids.append(backup.id)
        facts.copy_backup_id = backup.id
        by_ref = {vm.hierarchy_obj_ref: vm for vm in b.vms.values()}
        copied: set[str] = set()
        newest: dict[str, VmRestorePoint] = {}
        for sid in job.session_ids:
            worker = b.job_sessions[sid]
            if worker.job_type != "ImmediateBackupCopyWorker":
                continue
            tasks = [b.task_sessions[t] for t in worker.task_ids]
            done = [t for t in tasks if t.result in ("Success", "Warning") and t.end_ticks is not None]
            if done:
                for p in self.copy_points(job, backup, worker, done, by_ref, copied):
                    newest[p.vm_name] = p
        facts.copied_vms = list(newest)
        facts.newest_copy_by_vm = {name: p.creation_time_utc for name, p in newest.items()}
        facts.newest_copy_point_by_vm = {name: p.id for name, p in newest.items()}

    def copy_points(self, job: Job, backup: Backup, worker: JobSession, done: list[TaskSession],
                    by_ref: dict[str, Vm], copied: set[str]) -> list[VmRestorePoint]:
        b, g = self.b, self.g
        server = b.servers[job.server_id]
        repo = b.repositories[backup.repository_id]
        first = [t.vm_uid not in copied for t in done]
        ext = "vbk" if any(first) else "vib"
        rp_ticks = min(t.end_ticks or 0 for t in done)
        file_ticks = worker.creation_ticks + g.seconds(3, 12)
        rp = RestorePoint(id=g.guid(), name=sql_style_name(rp_ticks), backup_id=backup.id, server_id=job.server_id,
                          job_id=job.id, backup_date_utc=iso_utc(rp_ticks),
                          backup_ticks=rp_ticks, job_session_id=worker.id)
        local = datetime_of(file_ticks) + timedelta(hours=server.utc_offset_hours)
        file_name = f"{job.name}D{local:%Y-%m-%dT%H%M%S}_{g.hex4()}.{ext}"
        total = sum(by_ref[t.vm_uid].size_bytes for t in done)
        data = int(total * (g.rng.uniform(0.9, 1.0) if ext == "vbk" else g.rng.uniform(0.02, 0.08)))
        dedup = round(g.rng.uniform(1.2, 2.2), 2) if ext == "vbk" else 1.0
        compress = round(g.rng.uniform(1.8, 2.6), 2) if ext == "vbk" else round(g.rng.uniform(4.0, 7.5), 2)
        bf = BackupFile(
            id=g.guid(),
            name=file_name,
            file_path=f"{repo.path}/{job.name}/{file_name}",
            backup_size=int(data / (dedup * compress)),
            data_size=data,
            dedup_ratio=dedup,
            compress_ratio=compress,
            creation_time_utc=iso_utc(file_ticks),
            creation_ticks=file_ticks,
            file_type=ext,
            backup_id=backup.id,
            server_id=job.server_id,
        )
        bf.restore_point_ids.append(rp.id)
        rp.backup_file_ids.append(bf.id)
        made = []
        for task, full in zip(done, first, strict=True):
            vm = by_ref[task.vm_uid]
            end = task.end_ticks or 0
            vp = VmRestorePoint(
                id=g.guid(),
                name=f"{vm.name}@{name_stamp(end)}",
                vm_name=vm.name,
                creation_time_utc=iso_utc(end),
                creation_ticks=end,
                algorithm="Full" if full else "Incremental",
                point_type="Full" if full else "Increment",
                hierarchy_obj_ref=vm.hierarchy_obj_ref,
                restore_point_id=rp.id,
                backup_file_id=bf.id,
                backup_server_id=job.server_id,
                job_id=job.id,
                backup_id=backup.id,
                task_session_id=task.id,
            )
            copied.add(task.vm_uid)
            b.vm_points[vp.id] = vp
            points = b.points_by_vm[b.vm_key(vm)]
            bisect.insort(points, vp, key=lambda p: p.creation_ticks)
            rp.vm_point_ids.append(vp.id)
            bf.vm_point_ids.append(vp.id)
            made.append(vp)
        b.restore_points[rp.id] = rp
        b.backup_files[bf.id] = bf
        backup.restore_point_ids.append(rp.id)
        backup.backup_file_ids.append(bf.id)
        return made

    # --- replication ---------------------------------------------------------------------------------------

    def replication(self) -> None:
        b, g, facts = self.b, self.g, self.b.facts
        vms = [b.vms[name] for name in REPLICA_VMS if name in b.vms and b.vms[name].platform == "HyperV"]
        if not vms or len(b.server_ids) < 2:
            return
        spec = JobSpec(name=REPLICA_JOB, platform="HyperV", server=1, repository="local1", method="forward",
                       full_mode="none", when="replica", enabled=True, job_type="Replica")
        job = b.make_job(spec, [vm.name for vm in vms])
        for vm in vms:
            vss = "RequireSuccess" if vm.name.startswith(("sql", "exch", "dc")) else "Disabled"
            b.include(job, vm.hierarchy_obj_ref, vm.name, vss).vm_names.append(vm.name)
        replica = Replica(id=g.guid(), name=job.name, server_id=job.server_id, repository_id=job.repository_id,
                          job_id=job.id, platform=job.platform)
        self.data.replicas[replica.id] = replica
        b.job_vms[job.id] = vms
        runs = b.plan_runs(spec, job)
        failing = next((vm for vm in vms if vm.name == REPLICA_FAILED_VM), vms[-1])
        seen: set[str] = set()
        data = self.data
        sessions, tasks, points = data.replica_sessions, data.replica_task_sessions, data.vm_replica_points
        for r, run in enumerate(runs):
            session = JobSession(
                id=g.guid(),
                name=f"{job.name}@{name_stamp(run.start)}",
                job_id=job.id,
                job_name=job.name,
                job_type="Replica",
                server_id=job.server_id,
                creation_time_utc=iso_utc(run.start),
                creation_ticks=run.start,
                end_time_utc=iso_utc(run.end),
                end_ticks=run.end,
                state="Stopped",
                result=None,
                progress=100,
                is_retry=False,
            )
            sessions[session.id] = session
            results = []
            for slot in run.slots:
                vm = slot.vm
                failed = REPLICA_FAILURE.shapes(job.name, r, len(runs)) and vm is failing
                result = "Failed" if failed else "Success"
                task = TaskSession(
                    id=g.guid(),
                    name=f"{vm.name}@{name_stamp(slot.start)}",
                    job_session_id=session.id,
                    job_id=job.id,
                    job_name=job.name,
                    server_id=job.server_id,
                    vm_name=vm.name,
                    vm_uid=vm.hierarchy_obj_ref,
                    creation_time_utc=iso_utc(slot.start),
                    creation_ticks=slot.start,
                    end_time_utc=iso_utc(slot.end),
                    end_ticks=slot.end,
                    state="Completed",
                    result=result,
                    reason=b.reason(REASON_REPLICA, vm) if failed else "",
                    total_size=0 if failed else vm.size_bytes,
                )
                tasks[task.id] = task
                session.task_ids.append(task.id)
                results.append(result)
                if failed:
                    facts.replica_failed_task_id = task.id
                    continue
                full = vm.hierarchy_obj_ref not in seen
                seen.add(vm.hierarchy_obj_ref)
                point = VmReplicaPoint(
                    id=g.guid(),
                    name=f"{vm.name}_replica@{name_stamp(slot.point)}",
                    vm_name=f"{vm.name}_replica",
                    source_vm=vm.name,
                    source_ref=vm.hierarchy_obj_ref,
                    creation_time_utc=iso_utc(slot.point),
                    creation_ticks=slot.point,
                    algorithm="Full" if full else "Incremental",
                    point_type="Snapshot",
                    replica_id=replica.id,
                    server_id=job.server_id,
                    task_session_id=task.id,
                )
                points[point.id] = point
                task.vm_point_id = point.id
            session.result = worst(results)
            facts.replica_newest_session_id = session.id
        facts.replica_job_id, facts.replica_id = job.id, replica.id
        facts.replicated_vms = [vm.name for vm in vms]

    # --- Veeam Agent ---------------------------------------------------------------------------------------

    def agents(self) -> None:
        b, g, facts, data = self.b, self.g, self.b.facts, self.data
        sid = b.server_ids[0]
        server = b.servers[sid]
        repo = b.repo_by_key["local0"]
        groups: list[tuple[ProtectionGroup, list[DiscoveredComputer]]] = []
        zero = "00000000-0000-0000-0000-000000000000"
        for name, platform, computers in _AGENT_GROUPS:
            gid = g.guid()
            # The real v12 capture writes AgentForWindows into computers' refs, Linux hosts included.
            group = ProtectionGroup(id=gid, name=name, server_id=sid, platform=platform,
                                    hierarchy_obj_ref=f"urn:AgentForWindows:ProtectionGroup:{zero}.{gid}",
                                    rescan_enabled=True)
            data.protection_groups[gid] = group
            members = []
            for fqdn, ip, os_version, version, host_status in computers:
                cid = g.guid()
                computer = DiscoveredComputer(
                    id=cid,
                    name=fqdn,
                    server_id=sid,
                    group_id=gid,
                    platform=platform,
                    host_status=host_status,
                    agent_status="Installed",
                    agent_version=version,
                    os_version=os_version,
                    ip_address=ip,
                    hierarchy_obj_ref=f"urn:AgentForWindows:VeeamAgent:{zero}.{cid}",
                    size_bytes=g.rng.randint(60, 500) * 2**30,
                )
                data.discovered_computers[cid] = computer
                group.computer_ids.append(cid)
                members.append(computer)
            groups.append((group, members))
        for job_name, group_index, (hours_after, minute) in _AGENT_JOBS:
            group, members = groups[group_index]
            hour = (b.anchor.hour + hours_after) % 24
            job = self.agent_job(job_name, group, members, hour * 60 + minute)
            backup = Backup(id=g.guid(), name=job.name, server_id=sid, repository_id=repo.id, job_id=job.id,
                            platform=job.platform, backup_type="ParentBackup")
            b.backups[backup.id] = backup
            repo.backup_ids.append(backup.id)
            job.backup_id = backup.id
            self.agent_runs(job, backup, members, server.utc_offset_hours)
        facts.agent_job_ids = list(data.agent_jobs)
        newest: dict[str, AgentRestorePoint] = {}
        for p in data.agent_restore_points.values():
            if p.computer_name not in newest or p.creation_ticks > newest[p.computer_name].creation_ticks:
                newest[p.computer_name] = p
        facts.newest_agent_point_by_computer = {name: p.id for name, p in newest.items()}

    def agent_job(self, name: str, group: ProtectionGroup, members: list[DiscoveredComputer], minute: int) -> Job:
        b, g = self.b, self.g
        server = b.servers[group.server_id]
        created = b.anchor_ticks - g.rng.randint(200, 600) * TICKS_PER_DAY + g.seconds(0, 86_399)
        nxt = b.anchor.replace(hour=minute // 60, minute=minute % 60, second=0, microsecond=0)
        if nxt <= b.anchor:
            nxt += timedelta(days=1)
        job = Job(
            id=g.guid(),
            name=name,
            server_id=group.server_id,
            repository_id=b.repo_by_key["local0"].id,
            platform=group.platform,
            job_type="AgentBackup",
            description=f"Created by {server.name.split('.')[0].upper()}\\Administrator at "
            f"{us_local(created, server.utc_offset_hours)}.",
            schedule_configured=True,
            schedule_enabled=True,
            next_run=iso_utc(ticks_of(nxt)),
            method="forward",
            full_mode="active",
            schedule_minute=minute,
            created_ticks=created,
            vm_names=[c.name for c in members],
        )
        include = AgentInclude(id=g.guid(), job_id=job.id, group_id=group.id, name=group.name)
        self.data.agent_includes[include.id] = include
        job.object_ids.append(include.id)
        self.data.agent_jobs[job.id] = job
        return job

    def agent_runs(self, job: Job, backup: Backup, members: list[DiscoveredComputer], offset: int) -> None:
        b, g, facts, data = self.b, self.g, self.b.facts, self.data
        assert job.schedule_minute is not None
        spec = JobSpec(name=job.name, platform=job.platform, server=0, repository="local0", method="forward",
                       full_mode="active", when=(0, 0), enabled=True)
        runs: list[tuple[int, int, list[tuple[DiscoveredComputer, int, int]]]] = []
        day = (self.window_start // TICKS_PER_DAY - 1) * TICKS_PER_DAY
        while day <= b.anchor_ticks:
            start = day + job.schedule_minute * TICKS_PER_MINUTE + g.seconds(2, 9)
            children = []
            # One AgentManagement session per computer, started one after the other in group order.
            c_start = start + g.seconds(3, 6)
            for computer in members:
                children.append((computer, c_start, c_start + g.seconds(180, 1500)))
                c_start += g.seconds(1, 3)
            end = max(c_end for _, _, c_end in children) + g.seconds(3, 10)
            if start >= self.window_start and end <= b.anchor_ticks:
                runs.append((start, end, children))
            day += TICKS_PER_DAY
        for r, (start, end, children) in enumerate(runs):
            newest = r == len(runs) - 1
            parent = self.agent_session(job, f"{job.name}@{name_stamp(start)}", "AgentBackup", start, end, None)
            role = chain_role(spec, r, len(runs), datetime_of(start).weekday())
            results = []
            for computer, c_start, c_end in children:
                failed = AGENT_FAILURE.shapes(job.name, r, len(runs)) and computer.name == FAILING_COMPUTER
                child = self.agent_session(job, f"{job.name} - {computer.name}@{name_stamp(c_start)}",
                                           "AgentManagement", c_start, c_end, parent.id)
                child.result = "Failed" if failed else "Success"
                data.agent_session_computers[child.id] = computer.id
                results.append(child.result)
                if failed:
                    facts.agent_failed_session_id = child.id
                    continue
                self.agent_point(job, backup, child, computer, role, offset)
            parent.result = worst(results)
            if newest and job.name == WINDOWS_AGENT_JOB:
                facts.agent_newest_run_session_id = parent.id
        if any(c.name == FAILING_COMPUTER for c in members):
            facts.failing_computer = FAILING_COMPUTER

    def agent_session(self, job: Job, name: str, job_type: str, start: int, end: int, parent: str | None) -> JobSession:
        s = JobSession(
            id=self.g.guid(),
            name=name,
            job_id=job.id,
            job_name=job.name,
            job_type=job_type,
            server_id=job.server_id,
            creation_time_utc=iso_utc(start),
            creation_ticks=start,
            end_time_utc=iso_utc(end),
            end_ticks=end,
            state="Stopped",
            result=None,
            progress=100,
            is_retry=False,
            parent_id=parent,
        )
        self.b.job_sessions[s.id] = s
        job.session_ids.append(s.id)
        return s

    def agent_point(self, job: Job, backup: Backup, session: JobSession, computer: DiscoveredComputer,
                    role: tuple[str, str, str], offset: int) -> None:
        b, g = self.b, self.g
        point_type, algorithm, ext = role
        assert session.end_ticks is not None
        point = to_second(session.end_ticks) - g.seconds(20, 60) + g.subsecond()
        rp_ticks = point - g.seconds(2, 8)
        rp = RestorePoint(id=g.guid(), name=sql_style_name(rp_ticks), backup_id=backup.id, server_id=job.server_id,
                          job_id=job.id, backup_date_utc=iso_utc(rp_ticks),
                          backup_ticks=rp_ticks, job_session_id=session.id)
        file_ticks = session.creation_ticks + g.seconds(5, 20)
        local = datetime_of(file_ticks) + timedelta(hours=offset)
        head = f"{job.name} - {computer.name}"
        file_name = f"{head}D{local:%Y-%m-%dT%H%M%S}_{g.hex4()}.{ext}"
        data = int(computer.size_bytes * (g.rng.uniform(0.5, 0.8) if ext == "vbk" else g.rng.uniform(0.01, 0.05)))
        compress = round(g.rng.uniform(1.6, 2.4), 2)
        repo = b.repositories[backup.repository_id]
        bf = BackupFile(
            id=g.guid(),
            name=file_name,
            file_path=f"{repo.path}\\{job.name}\\{head}\\{file_name}",
            backup_size=int(data / compress),
            data_size=data,
            dedup_ratio=1.0,
            compress_ratio=compress,
            creation_time_utc=iso_utc(file_ticks),
            creation_ticks=file_ticks,
            file_type=ext,
            backup_id=backup.id,
            server_id=job.server_id,
        )
        bf.restore_point_ids.append(rp.id)
        rp.backup_file_ids.append(bf.id)
        ap = AgentRestorePoint(
            id=g.guid(),
            name=f"{computer.name}@{name_stamp(point)}",
            computer_name=computer.name,
            computer_id=computer.id,
            creation_time_utc=iso_utc(point),
            creation_ticks=point,
            algorithm=algorithm,
            point_type=point_type,
            restore_point_id=rp.id,
            backup_file_id=bf.id,
            backup_id=backup.id,
            server_id=job.server_id,
            job_id=job.id,
            session_id=session.id,
        )
        self.data.agent_restore_points[ap.id] = ap
        b.restore_points[rp.id] = rp
        b.backup_files[bf.id] = bf
        backup.restore_point_ids.append(rp.id)
        backup.backup_file_ids.append(bf.id)
        session.restore_point_ids.append(rp.id)

    # --- restore sessions ----------------------------------------------------------------------------------

    def restores(self) -> None:
        b, g, facts = self.b, self.g, self.b.facts
        copy_backup = facts.copy_backup_id
        for hours, job_type, preferred, result, related in _RESTORES:
            start = millis(b.anchor_ticks - int(hours * TICKS_PER_HOUR) + g.seconds(0, 300))
            if start < self.window_start:
                continue

            def before(key: str, start: int = start) -> list[VmRestorePoint]:
                return [p for p in b.points_by_vm.get(key, []) if p.backup_id != copy_backup
                        and p.creation_ticks < start - 10 * TICKS_PER_MINUTE]

            key = preferred if before(preferred) else None
            if key is None:
                candidates = [k for k in b.points_by_vm if before(k)]
                if not candidates:
                    continue
                key = candidates[g.rng.randrange(len(candidates))]
            point = before(key)[-1]
            vm_name = point.vm_name
            name = f"FLR_[{vm_name}]@{name_stamp(start)}" if job_type == "FileLevelRestore" else \
                f"{vm_name}@{name_stamp(start)}"
            end: int | None = None
            if result is not None:
                end = start + g.seconds(720, 3300)
            progress = 64 if result is None else (100 if job_type == "RestoreVm" else 0)
            session = RestoreSession(
                id=g.guid(),
                name=name,
                vm_name=vm_name,
                job_type=job_type,
                server_id=point.backup_server_id,
                creation_time_utc=iso_utc(start),
                creation_ticks=start,
                end_time_utc=None if end is None else iso_utc(end),
                end_ticks=end,
                state="Working" if end is None else "Stopped",
                result=result,
                progress=progress,
                point_id=point.id if related else None,
            )
            self.data.restore_sessions[session.id] = session
            facts.restore_session_ids.append(session.id)
            if result is None:
                facts.running_restore_session_id = session.id
            elif result == "Failed":
                facts.failed_restore_session_id = session.id
            if not related:
                facts.restore_without_point_id = session.id

    # --- EM's own sessions ---------------------------------------------------------------------------------

    def system_sessions(self) -> None:
        b, g, facts = self.b, self.g, self.b.facts
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
                catalog = self.catalog_session(start)
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
            session = self.system_session("Collect Job", "CollectJob", start, end, events)
            made.append(session)
            for ticks, message in events:
                if message.endswith("completed successfully."):
                    good[message[len("Data collection from "):-len(" completed successfully.")]] = ticks
            if not ok and not facts.stale_since:
                facts.stale_since = iso_utc(start)
            facts.newest_collect_session_id = session.id
            slot += step
        for session in sorted(made, key=lambda s: s.creation_ticks):
            self.data.system_sessions[session.id] = session
        facts.stale_server = stale.name if stale is not None else ""
        facts.last_good_collection = {name: iso_utc(ticks) for name, ticks in good.items()}

    def catalog_session(self, start: int) -> SystemSession:
        g = self.g
        start += g.rng.randrange(1_000_000, 5_000_000) * 10
        events = [(start, "Catalog replication job started.")]
        cursor = start + g.rng.randrange(200_000, 900_000) * 10
        events.append((cursor, "No indexed guest file systems to replicate."))
        cursor += g.rng.randrange(50_000, 300_000) * 10
        events.append((cursor, "Catalog replication job finished."))
        return self.system_session("Catalog Replication Job", "CatalogReplicationJob", start,
                                   cursor + g.rng.randrange(1_000, 50_000) * 10, events)

    def system_session(self, title: str, kind: str, start: int, end: int,
                       events: list[tuple[int, str]]) -> SystemSession:
        stamp = micro_text(start)
        return SystemSession(
            id=self.g.guid(),
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

    # --- MSP views -----------------------------------------------------------------------------------------

    def msp(self) -> None:
        b, g, facts, data = self.b, self.g, self.b.facts, self.data
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


def add_coverage(b: Builder) -> CoverageData:
    """Run the coverage phase on a finished normal build (before the twins); returns the new tables."""
    return _Coverage(b).run()

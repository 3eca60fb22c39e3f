"""Veeam Agent: two agent jobs on vbr01, their protection groups and discovered computers, per run an
`AgentBackup` parent and one `AgentManagement` session per computer, and per success an `AgentRestorePoint`.

A part of the coverage phase (coverage/__init__.py), from its own RNG stream.
"""

from __future__ import annotations

from datetime import timedelta

from ..clock import (
    TICKS_PER_DAY,
    TICKS_PER_MINUTE,
    datetime_of,
    iso_utc,
    name_stamp,
    ticks_of,
    to_second,
    us_local,
)
from ..coverage_records import (
    AgentInclude,
    AgentRestorePoint,
    DiscoveredComputer,
    ProtectionGroup,
)
from ..estate import JobSpec, chain_role
from ..records import Backup, Job, JobSession, worst
from ..scenarios import (
    AGENT_FAILURE,
    FAILING_COMPUTER,
    LINUX_AGENT_JOB,
    WINDOWS_AGENT_JOB,
)
from .context import Coverage

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


def agents(c: Coverage) -> None:
    b, g, facts, data = c.b, c.g, c.b.facts, c.data
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
        job = _agent_job(c, job_name, group, members, hour * 60 + minute)
        backup = Backup(id=g.guid(), name=job.name, server_id=sid, repository_id=repo.id, job_id=job.id,
                        platform=job.platform, backup_type="ParentBackup")
        b.backups[backup.id] = backup
        repo.backup_ids.append(backup.id)
        job.backup_id = backup.id
        _agent_runs(c, job, backup, members, server.utc_offset_hours)
    facts.agent_job_ids = list(data.agent_jobs)
    newest: dict[str, AgentRestorePoint] = {}
    for p in data.agent_restore_points.values():
        if p.computer_name not in newest or p.creation_ticks > newest[p.computer_name].creation_ticks:
            newest[p.computer_name] = p
    facts.newest_agent_point_by_computer = {name: p.id for name, p in newest.items()}


def _agent_job(c: Coverage, name: str, group: ProtectionGroup, members: list[DiscoveredComputer], minute: int) -> Job:
    b, g = c.b, c.g
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
    c.data.agent_includes[include.id] = include
    job.object_ids.append(include.id)
    c.data.agent_jobs[job.id] = job
    return job


def _agent_runs(c: Coverage, job: Job, backup: Backup, members: list[DiscoveredComputer], offset: int) -> None:
    b, g, facts, data = c.b, c.g, c.b.facts, c.data
    assert job.schedule_minute is not None
    spec = JobSpec(name=job.name, platform=job.platform, server=0, repository="local0", method="forward",
                   full_mode="active", when=(0, 0), enabled=True)
    runs: list[tuple[int, int, list[tuple[DiscoveredComputer, int, int]]]] = []
    day = (c.window_start // TICKS_PER_DAY - 1) * TICKS_PER_DAY
    while day <= b.anchor_ticks:
        start = day + job.schedule_minute * TICKS_PER_MINUTE + g.seconds(2, 9)
        children = []
        # One AgentManagement session per computer, started one after the other in group order.
        c_start = start + g.seconds(3, 6)
        for computer in members:
            children.append((computer, c_start, c_start + g.seconds(180, 1500)))
            c_start += g.seconds(1, 3)
        end = max(c_end for _, _, c_end in children) + g.seconds(3, 10)
        if start >= c.window_start and end <= b.anchor_ticks:
            runs.append((start, end, children))
        day += TICKS_PER_DAY
    for r, (start, end, children) in enumerate(runs):
        newest = r == len(runs) - 1
        parent = _agent_session(c, job, f"{job.name}@{name_stamp(start)}", "AgentBackup", start, end, None)
        role = chain_role(spec, r, len(runs), datetime_of(start).weekday())
        results = []
        for computer, c_start, c_end in children:
            failed = AGENT_FAILURE.shapes(job.name, r, len(runs)) and computer.name == FAILING_COMPUTER
            child = _agent_session(c, job, f"{job.name} - {computer.name}@{name_stamp(c_start)}",
                                       "AgentManagement", c_start, c_end, parent.id)
            child.result = "Failed" if failed else "Success"
            data.agent_session_computers[child.id] = computer.id
            results.append(child.result)
            if failed:
                facts.agent_failed_session_id = child.id
                continue
            _agent_point(c, job, backup, child, computer, role, offset)
        parent.result = worst(results)
        if newest and job.name == WINDOWS_AGENT_JOB:
            facts.agent_newest_run_session_id = parent.id
    if any(c.name == FAILING_COMPUTER for c in members):
        facts.failing_computer = FAILING_COMPUTER


def _agent_session(c: Coverage, job: Job, name: str, job_type: str, start: int, end: int,
                   parent: str | None) -> JobSession:
    s = JobSession(
        id=c.g.guid(),
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
    c.b.job_sessions[s.id] = s
    job.session_ids.append(s.id)
    return s


def _agent_point(c: Coverage, job: Job, backup: Backup, session: JobSession, computer: DiscoveredComputer,
                 role: tuple[str, str, str], offset: int) -> None:
    b, g = c.b, c.g
    point_type, algorithm, ext = role
    assert session.end_ticks is not None
    point = to_second(session.end_ticks) - g.seconds(20, 60) + g.subsecond()
    rp_ticks = point - g.seconds(2, 8)
    rp = b.restore_point(backup, job, session, rp_ticks)
    file_ticks = session.creation_ticks + g.seconds(5, 20)
    local = datetime_of(file_ticks) + timedelta(hours=offset)
    head = f"{job.name} - {computer.name}"
    file_name = f"{head}D{local:%Y-%m-%dT%H%M%S}_{g.hex4()}.{ext}"
    data = int(computer.size_bytes * (g.rng.uniform(0.5, 0.8) if ext == "vbk" else g.rng.uniform(0.01, 0.05)))
    compress = round(g.rng.uniform(1.6, 2.4), 2)
    repo = b.repositories[backup.repository_id]
    # Agent backups are not deduplicated (DedupRatio 1).
    bf = b.backup_file(backup, job, name=file_name, path=f"{repo.path}\\{job.name}\\{head}\\{file_name}",
                       ticks=file_ticks, ext=ext, data=data, dedup=1.0, compress=compress)
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
    c.data.agent_restore_points[ap.id] = ap
    b.keep_point(backup, rp, bf)
    session.restore_point_ids.append(rp.id)

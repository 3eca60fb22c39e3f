"""The simulator's dataset: determinism, counts, cross-links in both directions, realistic chains,
text formats, and the fixed facts other tests rely on (docs/simulator-contract.md)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from veeam_em_mcp.simulator.dataset import Dataset, build_dataset
from veeam_em_mcp.simulator.dataset.clock import datetime_of, ticks_of
from veeam_em_mcp.simulator.dataset.scenarios import SQL01_NEWEST_POINT_ID
from veeam_em_mcp.simulator.fields import parse_date_ticks

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SQL_NAME = re.compile(r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3]\d \d{4} [ 1]\d:[0-5]\d[AP]M$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z$")
HOUR = 3600 * 10_000_000


def test_deterministic(sim_dataset: Dataset) -> None:
    again = build_dataset(anchor=sim_dataset.anchor)
    assert again == sim_dataset
    other = build_dataset(seed=8, anchor=sim_dataset.anchor)
    assert set(other.vm_restore_points) & set(sim_dataset.vm_restore_points) == {SQL01_NEWEST_POINT_ID}
    assert other.vm_names() == sim_dataset.vm_names()


def test_default_anchor_is_now_rounded_down_to_the_minute() -> None:
    ds = build_dataset(vm_count=3, days=2)
    now = datetime.now(UTC)
    assert (ds.anchor.second, ds.anchor.microsecond) == (0, 0)
    assert timedelta(0) <= now - ds.anchor < timedelta(minutes=2)
    with pytest.raises(ValueError, match="aware"):
        build_dataset(anchor=datetime(2025, 1, 1))


def test_counts(sim_dataset: Dataset) -> None:
    ds = sim_dataset
    assert len(ds.backup_servers) == 2
    assert Counter(r.kind for r in ds.repositories.values()) == {
        "WindowsLocal": 3, "LinuxLocal": 1, "Extendable": 1, "AmazonS3Compatible": 1, "DDBoost": 1}
    assert sum(len(s.repository_ids) for s in ds.backup_servers.values()) == len(ds.repositories)
    # Six backup jobs (one Backup each), the backup copy job (its Backup comes from the coverage phase) and the
    # replication job (coverage; no Backup: a Replica); the two agent jobs are not in `jobs` and have a Backup each.
    assert Counter(j.job_type for j in ds.jobs.values()) == {"Backup": 6, "ImmediateBackupCopy": 1, "Replica": 1}
    backup_jobs = sorted(j.id for j in ds.jobs.values() if j.job_type == "Backup")
    assert sorted(b.job_id for b in ds.backups.values() if b.job_id in backup_jobs) == backup_jobs
    copy_job = next(j.id for j in ds.jobs.values() if j.job_type == "ImmediateBackupCopy")
    assert sorted(b.job_id for b in ds.backups.values()) == sorted([*backup_jobs, copy_job, *ds.agent_jobs])
    assert len(ds.backups) == 9 and len(ds.agent_jobs) == 2
    assert len(ds.vms) == 30 and len(ds.vm_names()) == 29  # crm01 has no restore point
    assert Counter(vm.platform for vm in ds.vms.values()) == {"VMware": 16, "HyperV": 6, "vCloud": 8}
    assert len(ds.backup_files) == len(ds.restore_points)
    assert len(ds.vm_restore_points) == sum(len(rp.vm_point_ids) for rp in ds.restore_points.values())
    for job in ds.jobs.values():
        if job.job_type != "Backup":
            continue
        for vm in job.vm_names:
            tasks = [t for t in ds.task_sessions.values() if t.vm_name == vm and t.vm_point_id is not None]
            # points_by_vm also holds the copies (in the copy job's Backup) of the Web Backup VMs.
            assert len([p for p in ds.points_by_vm[vm] if p.job_id == job.id]) == len(tasks)
    all_ids = [*ds.backup_servers, *ds.repositories, *ds.jobs, *ds.backups, *ds.restore_points,
               *ds.backup_files, *ds.vm_restore_points, *ds.objects_in_job, *ds.job_sessions, *ds.task_sessions,
               *ds.linked_jobs, *ds.replicas, *ds.vm_replica_points, *ds.replica_sessions,
               *ds.replica_task_sessions, *ds.restore_sessions, *ds.system_sessions, *ds.agent_jobs,
               *ds.agent_includes, *ds.protection_groups, *ds.discovered_computers, *ds.agent_restore_points,
               *ds.org_configs, *ds.cloud_tenants]
    assert len(all_ids) == len(set(all_ids))
    assert all(GUID.match(i) for i in all_ids)


def test_cross_links_resolve_both_ways(sim_dataset: Dataset) -> None:
    ds = sim_dataset
    for p in ds.vm_restore_points.values():
        rp = ds.restore_points[p.restore_point_id]
        bf = ds.backup_files[p.backup_file_id]
        assert p.backup_server_id in ds.backup_servers
        assert p.id in rp.vm_point_ids and p.id in bf.vm_point_ids
        assert rp.backup_id == bf.backup_id == p.backup_id
        assert rp.server_id == bf.server_id == p.backup_server_id
        assert bf.id in rp.backup_file_ids and rp.id in bf.restore_point_ids
        assert ds.vms[p.vm_name].hierarchy_obj_ref == p.hierarchy_obj_ref
    for b in ds.backups.values():
        job = ds.any_job(b.job_id)
        # The copy job's own `backup_id` stays as the normal build left it (empty): Facts.copy_backup_id.
        assert job.backup_id == b.id or (job.job_type == "ImmediateBackupCopy" and b.id == ds.facts.copy_backup_id)
        assert b.repository_id in ds.backup_servers[b.server_id].repository_ids
        assert all(ds.restore_points[i].backup_id == b.id for i in b.restore_point_ids)
        assert all(ds.backup_files[i].backup_id == b.id for i in b.backup_file_ids)
    for s in ds.backup_servers.values():
        assert all(ds.jobs[j].server_id == s.id for j in s.job_ids)
    assert sum(len(s.job_ids) for s in ds.backup_servers.values()) == len(ds.jobs)


def test_chains_are_realistic(sim_dataset: Dataset) -> None:
    ds = sim_dataset
    for job in ds.jobs.values():
        for vm in job.vm_names:
            # The job's own points (not the copies of them, not another job's).
            points = [p for p in ds.points_by_vm[vm] if p.job_id == job.id]
            if not points:
                continue
            files = [ds.backup_files[p.backup_file_id].file_type for p in points]
            roles = [(p.point_type, p.algorithm) for p in points]
            if job.method == "reverse":
                # The newest point is the full; the chain's first (active full) run is now a .vrb too.
                assert roles[-1][0] == "Full" and files[-1] == "vbk"
                assert roles[0] == ("ReverseIncrement", "Full")
                assert all(r == ("ReverseIncrement", "ReversedIncremental") for r in roles[1:-1])
                assert set(files[:-1]) == {"vrb"}
                continue
            assert roles[0] == ("Full", "Full")
            for p, (ptype, algo), ext in zip(points, roles, files, strict=True):
                weekday = datetime_of(p.creation_ticks).weekday()
                assert ext == ("vbk" if ptype == "Full" else "vib")
                if algo == "SyntheticFull":
                    assert job.full_mode == "synthetic" and weekday == 5
                elif ptype == "Increment":
                    assert algo == "Incremental"
            fulls = sum(1 for r in roles if r[0] == "Full")
            assert 4 <= fulls <= 6  # first point + a weekly full


def test_text_formats(sim_dataset: Dataset) -> None:
    ds = sim_dataset
    digits: Counter[int] = Counter()
    for p in ds.vm_restore_points.values():
        assert ISO.match(p.creation_time_utc)
        assert parse_date_ticks(p.creation_time_utc) == p.creation_ticks
        frac = p.creation_time_utc[20:-1]
        digits[len(frac)] += 1
        assert p.name == f"{p.vm_name}@{p.creation_time_utc[:10]} {p.creation_time_utc[11:19]}"
    assert digits[0] > 0 and max(digits) == 7 and any(1 <= d <= 3 for d in digits)
    for rp in ds.restore_points.values():
        assert SQL_NAME.match(rp.name), rp.name
        assert parse_date_ticks(rp.backup_date_utc) == rp.backup_ticks
    assert any("  " in rp.name for rp in ds.restore_points.values())
    computer_of = {p.backup_file_id: p.computer_name for p in ds.agent_restore_points.values()}
    for bf in ds.backup_files.values():
        job = ds.any_job(ds.backups[bf.backup_id].job_id)
        # An agent backup's files are per computer: `<job> - <computer>D...`, in a folder of that name.
        head = f"{job.name} - {computer_of[bf.id]}" if job.job_type == "AgentBackup" else job.name
        assert re.match(rf"^{re.escape(head)}D\d{{4}}-\d\d-\d\dT\d{{6}}_[0-9A-F]{{4}}\.{bf.file_type}$", bf.name)
        repo = ds.repositories[ds.backups[bf.backup_id].repository_id]
        sep = "/" if "/" in repo.path else "\\"
        folder = f"{job.name}{sep}{head}" if head != job.name else job.name
        assert bf.file_path == f"{repo.path}{sep}{folder}{sep}{bf.name}"
        assert bf.backup_size < bf.data_size


def test_points_sorted_and_inside_the_window(sim_dataset: Dataset) -> None:
    lo = ticks_of(sim_dataset.anchor - timedelta(days=30))
    hi = ticks_of(sim_dataset.anchor)
    for points in sim_dataset.points_by_vm.values():
        ticks = [p.creation_ticks for p in points]
        assert ticks == sorted(ticks)
        assert all(lo <= t <= hi for t in ticks)


@pytest.mark.parametrize("anchor", [
    datetime(2025, 10, 21, 9, 0, tzinfo=UTC),
    datetime(2025, 10, 21, 0, 0, tzinfo=UTC),
    datetime(2025, 10, 21, 2, 37, 11, tzinfo=UTC),
    datetime(2026, 3, 1, 23, 0, tzinfo=UTC),
])
def test_fixed_facts(anchor: datetime) -> None:
    ds = build_dataset(anchor=anchor)
    now = ticks_of(anchor)
    newest = ds.points_by_vm["sql01"][-1]
    assert newest.id == SQL01_NEWEST_POINT_ID
    assert ds.vm_restore_points[SQL01_NEWEST_POINT_ID] is newest
    assert ds.vms["sql01"].platform == "VMware"
    assert 0 < now - newest.creation_ticks < 24 * HOUR
    # Backed up daily: consecutive points about a day apart.
    gaps = [b.creation_ticks - a.creation_ticks for a, b in zip(ds.points_by_vm["sql01"],
                                                                ds.points_by_vm["sql01"][1:], strict=False)]
    assert all(23 * HOUR < g < 25 * HOUR for g in gaps)
    fs = ds.vms["fileserver02"]
    assert fs.platform == "HyperV" and not ds.jobs[fs.job_id].schedule_enabled
    assert now - ds.points_by_vm["fileserver02"][-1].creation_ticks > 72 * HOUR
    assert {"web,db (old)", 'a";Name!="x'} <= set(ds.vms)
    vcloud = [v for v in ds.vms.values() if v.platform == "vCloud"]
    assert vcloud and all(re.match(r"^urn:vCloud:Vm:[0-9a-f-]{36}\.urn:vcloud:vm:[0-9a-f-]{36}$",
                                   v.hierarchy_obj_ref) for v in vcloud)
    assert all(re.match(r"^urn:VMware:Vm:[0-9a-f-]{36}\.vm-\d+$", v.hierarchy_obj_ref)
               for v in ds.vms.values() if v.platform == "VMware")
    assert all(re.match(r"^urn:HyperV:Vm:[0-9a-f-]{36}\.[0-9a-f-]{36}$", v.hierarchy_obj_ref)
               for v in ds.vms.values() if v.platform == "HyperV")


def test_small_and_larger_estates_keep_the_fixed_facts() -> None:
    small = build_dataset(vm_count=5, days=7, anchor=datetime(2025, 10, 21, 9, tzinfo=UTC))
    assert set(small.vms) == {"sql01", "fileserver02", "web,db (old)", 'a";Name!="x', "vcd-web01"}
    assert small.points_by_vm["sql01"][-1].id == SQL01_NEWEST_POINT_ID
    larger = build_dataset(vm_count=130, days=10, anchor=datetime(2025, 10, 21, 9, tzinfo=UTC))
    # 100 VMs beyond the 30 named ones: four extra jobs of 25, next to the six named jobs, the copy job and the
    # replication job.
    assert len(larger.vms) == 130 and len(larger.jobs) == 12
    assert larger.points_by_vm["sql01"][-1].id == SQL01_NEWEST_POINT_ID
    assert all(len(j.vm_names) <= 25 for j in larger.jobs.values())

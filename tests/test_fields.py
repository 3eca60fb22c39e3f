"""The field reader (representation.fields) against the generic reader, on the simulator over ASGI.

Whole-window reads take only the fields a question uses, straight from the parsed pages; the generic path
reads every page into the registry's models. Both are run on the same simulator estate in every dialect
(XML, JSON 9.5, PascalCase v12, camelCase v13) and must give the same records, field for field, and the same
protection report, at the small estate and at thousands of VMs.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import ValidationError

from veeam_em_mcp.client import EnterpriseManagerClient
from veeam_em_mcp.errors import MalformedResponse
from veeam_em_mcp.models.arguments import (
    FindJobSessionsArgs,
    FindTaskSessionsArgs,
    GetJobSessionArgs,
    ListJobsArgs,
    ProtectionReportArgs,
)
from veeam_em_mcp.models.base import unchecked
from veeam_em_mcp.models.estate import FindTaskSessionsResult, ProtectionReport, TaskRun
from veeam_em_mcp.representation.field_json import json_job
from veeam_em_mcp.representation.field_pages import _lean_page, generic_reads, peek_page, read_page
from veeam_em_mcp.representation.fields import (
    AgentJobRowFields,
    JobFields,
    JobRowFields,
    JobRunFields,
    JobSessionFields,
    PointFields,
    Record,
    ReplicaPointFields,
    ReplicaRunFields,
    ReplicaTaskFields,
    TaskFields,
    TaskRowFields,
    _target,
    _target_of,
    plan_of,
)
from veeam_em_mcp.representation.parse import parse, scrubber
from veeam_em_mcp.representation.query import em_time, query_url
from veeam_em_mcp.services import answers, protection
from veeam_em_mcp.services.context import EmContext
from veeam_em_mcp.services.job_session import get_job_session
from veeam_em_mcp.services.jobs import list_jobs
from veeam_em_mcp.services.query_terms import BY_NAME, NEWEST_FIRST
from veeam_em_mcp.services.querying import read_fields
from veeam_em_mcp.services.sessions import find_job_sessions
from veeam_em_mcp.services.task_rows import task_run
from veeam_em_mcp.services.task_sessions import find_task_sessions
from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import Dataset, build_dataset

from .conftest import ANCHOR, make_settings

pytestmark = pytest.mark.anyio

# (bulk format, the simulator's dialect)
DIALECTS = {
    "xml": ("xml", SimulatorConfig()),
    "xml-min-shuffled": ("xml", SimulatorConfig(running_end_time="min", unsorted_order="shuffle")),
    "json-9.5": ("json", SimulatorConfig(json_dialect="9.5")),
    "json-12-null": ("json", SimulatorConfig(json_dialect="12", running_end_time="null")),
    "json-13-min": ("json", SimulatorConfig(json_dialect="13", running_end_time="min")),
}
RECORDS: tuple[type[Record], ...] = (
    JobRunFields, JobSessionFields, TaskFields, TaskRowFields, PointFields, JobFields, JobRowFields,
    ReplicaRunFields, ReplicaTaskFields, ReplicaPointFields, AgentJobRowFields,
)
_SMALL: list[Dataset] = []
# Empty on this estate: EM leaves a run's message empty (the reasons are on its tasks), and a point's display name
# is left out as the model leaves it out, when it repeats the VM name (it always does here).
NEVER_SET = {"failure_message", "vm_display_name"}
# And per record: EM's replica task names its VM without a reference and links only to its replication run and
# replica point; an agent job copies no other job.
NEVER_SET_OF: dict[type[Record], set[str]] = {
    ReplicaTaskFields: {"vm_uid", "job_session", "vm_restore_point"},
    AgentJobRowFields: {"source_jobs"},
}


def small() -> Dataset:
    if not _SMALL:
        _SMALL.append(build_dataset(anchor=ANCHOR))
    return _SMALL[0]


@asynccontextmanager
async def em_of(dataset: Dataset, dialect: str, **env: Any) -> AsyncIterator[EmContext]:
    bulk, config = DIALECTS[dialect]
    settings = make_settings(env={"VEEAM_EM_BULK_FORMAT": bulk, **env})
    app = create_app(config, dataset)
    async with EnterpriseManagerClient(settings, transport=httpx.ASGITransport(app=app)) as client:
        yield EmContext(settings, client)


async def both(em: EmContext, record: type[Record], **kwargs: Any) -> tuple[list[Any], list[Any]]:
    lean = await read_fields(em, record, max_pages=500, **kwargs)
    with generic_reads():
        generic = await read_fields(em, record, max_pages=500, **kwargs)
    assert lean.complete and generic.complete and lean.issue is None and generic.issue is None
    return lean.items, generic.items


@pytest.mark.parametrize("dialect", list(DIALECTS))
async def test_every_record_reads_as_the_generic_reader_does(dialect: str) -> None:
    async with em_of(small(), dialect, VEEAM_EM_PAGE_SIZE=50) as em:  # several pages per window
        for record in RECORDS:
            sort = BY_NAME if issubclass(record, JobFields) else NEWEST_FIRST
            lean, generic = await both(em, record, sort=sort)
            assert lean, f"{record.__name__}: the estate has some"
            assert lean == generic, record.__name__
            # Every field is filled for some item: a field read from the wrong key would stay None throughout.
            for name in set(plan_of(record).names) - NEVER_SET - NEVER_SET_OF.get(record, set()):
                assert any(getattr(item, name) not in (None, []) for item in lean), f"{record.__name__}.{name}"


@pytest.mark.parametrize("dialect", list(DIALECTS))
async def test_a_task_row_made_unchecked_is_what_validating_it_gives(dialect: str) -> None:
    """task_run's rows skip validation while EM is still answering (models.base.unchecked); a page validates
    each from its fields. Made from every task of every dialect, a row is already what validation makes of it."""
    async with em_of(small(), dialect) as em:
        read = await read_fields(em, TaskRowFields, sort=NEWEST_FIRST, max_pages=500)
    assert len(read.items) > 100
    for task in read.items:
        row = task_run(task)
        assert TaskRun.model_validate(row.__dict__) == row


def test_an_unchecked_row_is_checked_when_a_page_hands_it_out() -> None:
    with pytest.raises(TypeError, match="needs \\['outcome'\\]"):
        unchecked(TaskRun, {"vm_name": "sql01"})
    with pytest.raises(TypeError, match="knows no \\['vm_nam'\\]"):
        unchecked(TaskRun, {"outcome": "failed", "vm_nam": "sql01"})
    wrong = unchecked(TaskRun, {"outcome": "exploded", "start": "soon"})  # values no validation lets through
    with pytest.raises(ValidationError) as refused:
        answers._page(
            EmContext(make_settings(), None),  # type: ignore[arg-type]  # no EM needed to cut a page
            FindTaskSessionsResult.model_construct(tasks=[], em_requests=0, note=None),
            [wrong], TaskRun, 0, 50, True, None,
        )
    assert {error["loc"][0] for error in refused.value.errors()} == {"outcome", "start"}


async def whole_report(em: EmContext, args: ProtectionReportArgs) -> ProtectionReport:
    """The whole report as one model, its rows (plain data until a page hands them out) validated."""
    made = await protection._compute(em, ANCHOR, args)
    return ProtectionReport.model_validate({**made.answer.model_dump(), "rows": made.rows})


@pytest.mark.parametrize("dialect", list(DIALECTS))
async def test_protection_report_is_the_generic_one(dialect: str) -> None:
    args = ProtectionReportArgs(rpo_hours=24)
    async with em_of(small(), dialect, VEEAM_EM_PAGE_SIZE=10) as em:
        lean = await whole_report(em, args)
        with generic_reads():
            generic = await whole_report(em, args)
    assert lean.summary.vms > 20
    assert lean.model_dump() == generic.model_dump()


@pytest.mark.parametrize("dialect", ["xml", "json-13-min"])
async def test_protection_report_is_the_generic_one_at_thousands_of_vms(dialect: str) -> None:
    estate = build_dataset(anchor=ANCHOR, vm_count=3000, days=3)
    args = ProtectionReportArgs(rpo_hours=24)
    async with em_of(estate, dialect) as em:
        lean = await whole_report(em, args)
        with generic_reads():
            generic = await whole_report(em, args)
    assert lean.summary.vms >= 3000
    assert lean.model_dump() == generic.model_dump()


def test_a_field_the_registry_does_not_read_is_refused() -> None:
    @dataclass(slots=True)
    class Wrong(Record):
        EM_TYPE: ClassVar[str] = "BackupTaskSession"
        key: str | None
        id: str | None
        no_such_field: str | None

    with pytest.raises(TypeError, match="no_such_field"):
        plan_of(Wrong)


class Seen(httpx.AsyncBaseTransport):
    """The simulator over ASGI, noting the Accept header of every query sent to it."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.accepts: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "/query" in request.url.path:
            self.accepts.append(request.headers["accept"])
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize("bulk", ["json", "xml"])
async def test_a_window_is_read_in_json_unless_told_otherwise(bulk: str) -> None:
    since = em_time(ANCHOR - timedelta(hours=48))
    transport = Seen(create_app(SimulatorConfig(), small()))
    settings = make_settings(env={"VEEAM_EM_BULK_FORMAT": bulk} if bulk == "xml" else {})  # the default: json
    assert settings.format == "xml"
    async with EnterpriseManagerClient(settings, transport=transport) as client:
        window = await read_fields(EmContext(settings, client), PointFields, filter=f'CreationTime>="{since}"')
    assert window.items
    assert set(transport.accepts) == {f"application/{bulk}"}


@pytest.mark.parametrize("dialect", list(DIALECTS))
async def test_the_simulators_pages_take_the_lean_path(dialect: str) -> None:
    """Every dialect's pages are of a shape the field reader reads itself (not handed to the generic path)."""
    async with em_of(small(), dialect) as em:
        for record in RECORDS:
            url = query_url(em.base_url, record.EM_TYPE, page_size=100)
            response, body = await em.client.get_raw(url, accept=f"application/{DIALECTS[dialect][0]}")
            read = _lean_page(body, response.headers["content-type"], record, plan_of(record))
            assert read is not None and read[1], record.__name__


@pytest.mark.parametrize("late", [False, True])
def test_a_page_declaring_entities_is_refused_as_every_xml_body_is(late: bool) -> None:
    """The field reader keeps the XML safety of ``parse``: a DTD anywhere in the body, and nothing is read."""
    padding = "<!-- " + "x" * 9000 + " -->\n" if late else ""
    body = (
        '<?xml version="1.0"?>\n' + padding + '<!DOCTYPE QueryResult [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>\n'
        '<QueryResult><PagingInfo PageNum="1" PageSize="100" PagesCount="1"/><Entities><VmRestorePoints>'
        '<VmRestorePoint Href="/api/vmRestorePoints/1" Type="VmRestorePoint" Name="&b;"/>'
        "</VmRestorePoints></Entities></QueryResult>"
    ).encode()
    with pytest.raises(MalformedResponse, match="DTD"):
        read_page(body, "application/xml", PointFields, lambda: parse(body, "application/xml"))


Answer = tuple[list[dict[str, Any]], dict[str, Any]]  # a tool's rows, and the rest of its first page


async def every_row(em: EmContext, call: Any, args: Any, listed: str) -> Answer:
    """Every row of a tool's answer (its cursor followed), and its first page without the rows."""
    first = page = await call(em, ANCHOR, args)
    rows = [row.model_dump() for row in getattr(page, listed)]
    while page.next_cursor:
        page = await call(em, ANCHOR, args, page.next_cursor)
        rows += [row.model_dump() for row in getattr(page, listed)]
    rest = first.model_dump(exclude={listed, "next_cursor"})
    rest["note"] = re.sub(r"[\d.]+ min ago", "N min ago", rest.get("note") or "")  # EM's freshness, by the clock
    return rows, rest


async def lean_and_generic(dialect: str, call: Any, args: Any, listed: str, page_size: int) -> tuple[Answer, Answer]:
    """A tool's whole answer read the lean way and the generic way, each in its own context (nothing cached)."""
    async with em_of(small(), dialect, VEEAM_EM_PAGE_SIZE=page_size) as em:
        lean = await every_row(em, call, args, listed)
    async with em_of(small(), dialect, VEEAM_EM_PAGE_SIZE=page_size) as em:
        with generic_reads():
            generic = await every_row(em, call, args, listed)
    return lean, generic


@pytest.mark.parametrize("dialect", list(DIALECTS))
@pytest.mark.parametrize("newest_per_vm", [True, False])
async def test_find_task_sessions_is_the_generic_one(dialect: str, newest_per_vm: bool) -> None:
    week = em_time(ANCHOR - timedelta(days=7))
    args = FindTaskSessionsArgs(created_after=week, newest_per_vm=newest_per_vm, page_size=200)
    lean, generic = await lean_and_generic(dialect, find_task_sessions, args, "tasks", 100)
    assert len(lean[0]) > 20 and any(row["reason"] for row in lean[0])
    assert lean == generic


class NoJson(Seen):
    """An EM that does not speak JSON: 406 to a query asking for it (as a server without JSON support would)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "/query" in request.url.path and "json" in request.headers["accept"]:
            self.accepts.append(request.headers["accept"])
            return httpx.Response(406, headers={"content-type": "application/xml"}, content=b"", request=request)
        return await super().handle_async_request(request)


async def test_an_em_refusing_json_windows_is_read_in_xml() -> None:
    transport = NoJson(create_app(SimulatorConfig(), small()))
    settings = make_settings()
    async with EnterpriseManagerClient(settings, transport=transport) as client:
        em = EmContext(settings, client)
        first = await whole_report(em, ProtectionReportArgs())
        asked = len(transport.accepts)
        again = await whole_report(em, ProtectionReportArgs())
    # JSON is asked for by the reads that went out side by side before EM's first refusal, then never again: XML
    # for every other page of the first report and every page of the second.
    assert transport.accepts[0] == "application/json" and "application/xml" in transport.accepts[:asked]
    json_asks = transport.accepts.count("application/json")
    assert 1 <= json_asks <= 6 and "application/json" not in transport.accepts[asked:]
    assert first.summary.vms > 20 and first.model_dump(exclude={"em_requests"}) == again.model_dump(
        exclude={"em_requests"}
    )


@pytest.mark.parametrize("dialect", list(DIALECTS))
@pytest.mark.parametrize("newest_per_job", [True, False])
async def test_find_job_sessions_is_the_generic_one(dialect: str, newest_per_job: bool) -> None:
    week = em_time(ANCHOR - timedelta(days=7))
    args = FindJobSessionsArgs(created_after=week, newest_per_job=newest_per_job, page_size=50)
    lean, generic = await lean_and_generic(dialect, find_job_sessions, args, "sessions", 20)  # runs over pages
    assert len(lean[0]) > 5 and any(row["attempts"] > 1 for row in lean[0])
    assert lean == generic


@pytest.mark.parametrize("dialect", list(DIALECTS))
@pytest.mark.parametrize("members", [True, False])
async def test_list_jobs_is_the_generic_one(dialect: str, members: bool) -> None:
    args = ListJobsArgs(members=members, page_size=5)
    lean, generic = await lean_and_generic(dialect, list_jobs, args, "jobs", 10)  # jobs over several pages
    assert len(lean[0]) > 5 and any(row["last_run"] for row in lean[0]) and any(row["schedule"] for row in lean[0])
    assert not members or any(row["members"] for row in lean[0])
    assert lean == generic


@pytest.mark.parametrize("dialect", list(DIALECTS))
@pytest.mark.parametrize("kind", ["Backup", "AgentBackup", "replica"])
async def test_get_job_session_is_the_generic_one(dialect: str, kind: str) -> None:
    """A run's tasks: a backup run's task sessions, an agent run's computers, a replication run's replica tasks."""
    estate = small()
    runs = estate.replica_sessions.values() if kind == "replica" else [
        run for run in estate.job_sessions.values() if run.job_type == kind
    ]
    largest = max(runs, key=lambda run: (len(run.task_ids), run.creation_ticks))  # the most tasks, the newest
    args = GetJobSessionArgs(session_id=largest.id)
    lean, generic = await lean_and_generic(dialect, get_job_session, args, "tasks", 10)
    assert lean[0] and lean == generic


async def json_page_of(record: type[Record]) -> tuple[bytes, str]:
    async with em_of(small(), "json-9.5") as em:
        url = query_url(em.base_url, record.EM_TYPE, page_size=100)
        response, body = await em.client.get_raw(url, accept="application/json")
    return body, response.headers["content-type"]


def lean_and_generic_page(body: bytes, content_type: str, record: type[Record]) -> tuple[list[Any], list[Any]]:
    lean = _lean_page(body, content_type, record, plan_of(record))
    assert lean is not None
    with generic_reads():
        generic = read_page(body, content_type, record, lambda: parse(body, content_type))
    return lean[1], generic[1]


def items_of(page: dict[str, Any]) -> list[dict[str, Any]]:
    (wrapper,) = page["Entities"].values()
    (items,) = wrapper.values()
    assert isinstance(items, list)
    return items


@pytest.mark.parametrize("spelling", ["LinkedJobUid", "linked-job-UID", "ns:LinkedJobUID", "Lin\\u006bedJobUid"])
async def test_a_linked_job_anywhere_in_a_member_is_found_as_the_generic_reader_finds_it(spelling: str) -> None:
    """A job's members are read for their names and references alone, unless a key anywhere in the job may name a
    linked job: hidden deep in a VM job's member (any spelling, even escaped), it is a source job all the same."""
    body, content_type = await json_page_of(JobFields)
    page = json.loads(body)
    job = next(job for job in items_of(page) if "BackupJobInfo" in job.get("JobInfo", {}))
    member = job["JobInfo"]["BackupJobInfo"]["Includes"]["ObjectInJobs"][0]
    member["GuestProcessingOptions"]["Deep"] = [{"KEY": "urn:veeam:Job:11111111-2222-3333-4444-555555555555"}]
    changed = json.dumps(page).replace('"KEY"', f'"{spelling}"').encode()
    lean, generic = lean_and_generic_page(changed, content_type, JobFields)
    assert lean == generic
    assert any("urn:veeam:Job:11111111-2222-3333-4444-555555555555" in (job.source_jobs or []) for job in lean)


def _jobs_of(page: dict[str, Any]) -> list[dict[str, Any]]:
    """The jobs of a JSON page in any dialect (``{"Entities": {"Jobs": {"Jobs": [...]}}}``, v13's camelCase)."""
    entities = next(value for key, value in page.items() if key.lower() == "entities")
    jobs = next(value for key, value in entities.items() if key.lower() == "jobs")
    jobs = next(iter(jobs.values())) if isinstance(jobs, dict) else jobs
    assert isinstance(jobs, list) and jobs
    return jobs


def _members_of(job: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The object holding a JSON job's member list, and that list's key (any dialect's spelling)."""
    info = next(value for key, value in job.items() if key.lower() == "jobinfo")
    holder = next(value for key, value in info.items() if key.lower() in ("backupjobinfo", "replicajobinfo"))
    includes = next(value for key, value in holder.items() if key.lower() == "includes")
    return includes, next(iter(includes))


def _fold_into_a_list(includes: dict[str, Any]) -> None:
    """``{"Includes": {"Include": [<the old Includes>]}}``: an Includes the normaliser folds into a list."""
    inner = dict(includes)
    includes.clear()
    includes["Include"] = [inner]


# Each a change to one job with members, made in place: (job, its Includes object, the member list's key).
MEMBER_CHANGES: dict[str, Any] = {
    "wrapped": lambda job, inc, key: inc.update({key: {key[:-1]: inc[key]}}),  # {"ObjectInJobs": {"ObjectInJob": […]}}
    "one-member": lambda job, inc, key: inc.update({key: inc[key][0]}),
    "singular-key": lambda job, inc, key: inc.update({key[:-1]: inc.pop(key)}),
    "number-null": lambda job, inc, key: [m.update({"Name": 42, "DisplayName": None}) for m in inc[key][:2]],
    "boolean-ref": lambda job, inc, key: inc[key][0].update({"HierarchyObjRef": True}),
    "nested-name": lambda job, inc, key: inc[key][0].update({"DisplayName": {"#text": "x", "@Lang": "en"}}),
    "two-spellings": lambda job, inc, key: inc[key][0].update({"ns:Name": "first", "DisplayName": None}),
    "namespace-keys": lambda job, inc, key: inc[key][0].update({"@xmlns": "urn:x", "xmlns:ns": "urn:y"}),
    "not-members": lambda job, inc, key: inc[key].extend(["x", None, [1], {}, {"ObjectInJobs": [{"Name": "n"}]}]),
    "empty-includes": lambda job, inc, key: inc.clear(),
    "includes-folded": lambda job, inc, key: _fold_into_a_list(inc),
    "no-list": lambda job, inc, key: inc.update({key: "none"}),
    "long-ref": lambda job, inc, key: inc[key][0].update({"HierarchyObjRef": "urn:a:b:c:d:e", "Name": ""}),
    "short-ref": lambda job, inc, key: inc[key][0].update({"HierarchyObjRef": "urn:a"}),
    "info-list": lambda job, inc, key: job.update({k: [1] for k in job if k.lower() == "jobinfo"}),
    "info-text": lambda job, inc, key: job.update({k: "none" for k in job if k.lower() == "jobinfo"}),
}


@pytest.mark.parametrize("dialect", ["json-9.5", "json-12-null", "json-13-min"])
@pytest.mark.parametrize("change", list(MEMBER_CHANGES))
async def test_job_members_of_odd_shapes_read_as_the_generic_reader_reads_them(dialect: str, change: str) -> None:
    """A JSON job's members are read straight from its JobInfo (field_json.json_job); whatever their shape (a
    list folded in a wrapper, one member alone, a number or a nested value for a name, items that are no member,
    no member list at all), every job's record equals the generic reader's."""
    async with em_of(small(), dialect) as em:
        url = query_url(em.base_url, "Job", page_size=100)
        response, body = await em.client.get_raw(url, accept="application/json")
    content_type = response.headers["content-type"]
    page = json.loads(body)
    jobs = [job for job in _jobs_of(page) if "includes" in json.dumps(job).lower()]
    for job in jobs[:3]:
        includes, key = _members_of(job)
        MEMBER_CHANGES[change](job, includes, key)
    for record in (JobFields, JobRowFields):
        lean, generic = lean_and_generic_page(json.dumps(page).encode(), content_type, record)
        assert lean == generic
        assert any(job.includes for job in lean)  # the other jobs' members are still read


@pytest.mark.parametrize("dialect", ["json-9.5", "json-12-null", "json-13-min"])
async def test_the_simulators_jobs_take_the_member_path(dialect: str) -> None:
    """Every job of the simulator's JSON pages is read by json_job (not left to the general rules), so the test
    above compares that path, not the general one with itself."""
    async with em_of(small(), dialect) as em:
        url = query_url(em.base_url, "Job", page_size=100)
        _, body = await em.client.get_raw(url, accept="application/json")
    page = json.loads(body)
    plan = plan_of(JobRowFields)
    made = [json_job(JobRowFields, plan, job, scrubber("")) for job in _jobs_of(page)]
    assert made and all(job is not None for job in made)
    assert sum(len(job.includes or []) for job in made if job is not None) > len(made)


async def test_a_peeked_record_is_made_once_and_its_json_let_go() -> None:
    """A peeked page's record is made once (a window's edges are read first, then every item): asked again, the
    same record; the item's parsed JSON (a job's members) is not kept beside it."""
    body, content_type = await json_page_of(JobRowFields)

    def no_generic() -> Any:
        raise AssertionError("read the generic way")

    peek = peek_page(body, content_type, JobRowFields, no_generic)
    first = peek.record_at(0)
    made = [peek.record_at(index) for index in range(peek.count)]
    assert made[0] is first and peek.record_at(peek.count - 1) is made[-1]
    with generic_reads():
        assert made == read_page(body, content_type, JobRowFields, lambda: parse(body, content_type))[1]
    held = [ref for ref in gc.get_referents(*gc.get_referrers(first)) if isinstance(ref, dict) and "JobInfo" in ref]
    assert not held


@pytest.mark.parametrize(
    "change",
    [
        {"Type": {"Nested": ["x"]}},  # a key no field reads: anything
        {"Name": {"#text": "vbr01.tech.local", "@Lang": "en"}},  # the link's name as an element with attributes
        {"Rel": 1, "Href": 2},
        {"Links": "not a list"},
    ],
)
async def test_links_of_odd_shapes_read_as_the_generic_reader_reads_them(change: dict[str, Any]) -> None:
    """A link whose href, rel or name is not text, or a Links value that is not a list, is read by the general
    rules, with the same records as the generic reader's."""
    body, content_type = await json_page_of(TaskRowFields)
    page = json.loads(body)
    for item in items_of(page)[:5]:
        if "Links" in change:
            item["Links"] = change["Links"]
        else:
            item["Links"][0].update(change)
    lean, generic = lean_and_generic_page(json.dumps(page).encode(), content_type, TaskRowFields)
    assert lean == generic


@pytest.mark.parametrize(
    "change",
    [
        {"VmDisplayName": 42, "TotalSize": "1024"},  # a number where text is read, text where a number is
        {"State": {"Nested": ["x"]}},  # a nested value
        {"Result": True, "Reason": 1.5},  # a boolean and a float where text is read
        {"EndTimeUTC": "0001-01-01T00:00:00Z", "CreationTimeUTC": None},  # EM's "no time", and a null
        {"EndTimeUTC": " 0001-01-01T00:00:00.0000000+00:00 "},  # "no time" in another spelling, padded
        {"vmUid": "urn:VMware:Vm:aaaa.vm-1"},  # two raw keys for one normalised key
        {"Reason": "x" * 150, "VmDisplayName": ""},  # a long text (not shared), an empty one
        {"UID": 7, "Href": None},  # an id that is not text, and no href
    ],
    ids=["number-text", "nested", "booleans", "no-time", "no-time-spelled", "two-keys", "long-empty", "odd-id"],
)
async def test_entities_of_odd_values_read_as_the_generic_reader_reads_them(change: dict[str, Any]) -> None:
    """The reader written per key set (field_direct) takes a value as it is only where the general code would;
    any other value sends the entity to the general code: every record equals the generic reader's."""
    body, content_type = await json_page_of(TaskRowFields)
    page = json.loads(body)
    items = items_of(page)
    for item in items[:5]:
        item.update(change)
    del items[5]["Reason"]  # and a key set of its own
    lean, generic = lean_and_generic_page(json.dumps(page).encode(), content_type, TaskRowFields)
    assert lean == generic


@pytest.mark.parametrize("record", [PointFields, ReplicaPointFields], ids=lambda r: r.__name__)
async def test_points_whose_derive_reads_their_values_read_as_the_generic_reader_reads_them(
    record: type[Record],
) -> None:
    """A point's derive (its display name left out when it repeats the VM's name) reads only the values read
    (derived.VALUES_ONLY): the reader written per key set runs it, on every odd value as the general code does."""
    body, content_type = await json_page_of(record)
    page = json.loads(body)
    items = items_of(page)
    assert len(items) > 8
    changes: list[dict[str, Any]] = [
        {"VmDisplayName": "another name"},  # kept: it says something the VM's name does not
        {"VmDisplayName": None},
        {"VmDisplayName": 42},  # a number: the general code reads it
        {"VmName": None, "VmDisplayName": None},
        {"VmName": "x" * 150, "VmDisplayName": "x" * 150},  # long (not shared), equal
        {"Name": "renamed@2026-01-01 00:00:00"},
    ]
    for item, change in zip(items, changes, strict=False):
        item.update(change)
    lean, generic = lean_and_generic_page(json.dumps(page).encode(), content_type, record)
    assert lean == generic
    assert any(plan_of(record).direct.values()), "the reader written per key set read this page"
    assert any(getattr(point, "vm_display_name", None) == "another name" for point in lean)
    assert any(point.vm_display_name is None and point.vm_name for point in lean[len(changes):])


REL_HREFS = [
    (rel, f"{base}{path}")
    for rel in ("Up", "Related", "Down", "Alternate", None, "up")
    for base in ("http://em.test:9398", "https://em.test:9398", "")
    for path in (
        "/api/vmRestorePoints/{id}?format=Entity", "/api/vmRestorePoints/{id}", "/api/backupSessions/{id}",
        "/api/backupServers/{id}", "/api/restorePoints/{id}/vmRestorePoints", "/api/jobs/{id}/includes/{id}",
        "/api/cloud/tenants/{id}", "/api/vmRestorePoints/{id}/mounts", "/api/vmRestorePoints/{id}?action=restore",
        "/api/vmRestorePoints/{id}#x?y", "/api/vmRestorePoints/", "/api/vmRestorePoints", "/api/query?type=Job",
        "/api/vmRestorePoints/not-an-id", "/api//vmRestorePoints/{id}", "/api/backupTaskSessions/{id}",
        "/api/repositories/{id}", "/api/backupFiles/{id}",
    )
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.__name__)
def test_a_links_field_is_decided_by_its_shape_as_by_its_whole_href(record: type[Record]) -> None:
    """fields._target_of remembers which field a link fills by its shape (the path up to its last segment, whether
    that is an id, the rest): for every link, what _target decides from the whole href; ids never change it."""
    plan = plan_of(record)
    ids = ("6c958531-3177-4055-b0ce-dc4ef1ce6433", "0C958531-3177-4055-B0CE-DC4EF1CE6434")
    for rel, href in REL_HREFS:
        for guid in ids:
            concrete = href.replace("{id}", guid)
            assert _target_of(rel, concrete, plan) == _target(rel, concrete, plan), (record.__name__, rel, concrete)
    assert any(_target(rel, href.replace("{id}", ids[0]), plan) for rel, href in REL_HREFS), "some link fills a field"

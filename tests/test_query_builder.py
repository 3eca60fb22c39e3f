"""The client-side query builder against the simulator's own filter parser and query service.

The central property: whatever a VM is called (quotes, ``;``, ``,``, operators, parentheses, unicode,
control characters), the filter we build parses back to exactly one comparison with that literal name, and
the query service finds exactly that VM's points and no near-miss. The URL goes through starlette's query
parsing, as in the simulator, so percent-encoding (``+``, ``&``, ``%``) is covered too.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from veeam_em_mcp.client import EnterpriseManagerClient
from veeam_em_mcp.errors import InvalidArgument, MalformedResponse
from veeam_em_mcp.representation import Document
from veeam_em_mcp.representation.query import em_time, parse_query_page, parse_user_time, quote_value
from veeam_em_mcp.services.restore_points import Cursor, VmPointQuery, build_query
from veeam_em_mcp.simulator.dataset import Dataset, build_dataset
from veeam_em_mcp.simulator.query.filter import And, Cmp, parse_filter
from veeam_em_mcp.simulator.query.request import parse_query_params
from veeam_em_mcp.simulator.query.service import QueryService

from .conftest import ANCHOR, SIM_ORIGIN, McpFactory, make_settings

AWKWARD_NAMES = ["web,db (old)", 'a";Name!="x']
BASE = build_dataset(anchor=ANCHOR, vm_count=6, days=4)

# Characters that mean something to EM's filter grammar, to URLs or to XML, plus any unicode.
_SPECIAL = st.sampled_from([*'";,()=!<>&+%#?/\\\' \t\n', "==", "!=", '""', "\u00df", "\u0130", "\U0001f600"])
vm_names = st.lists(
    st.one_of(_SPECIAL, st.characters(codec="utf-8", exclude_categories=("Cs",))), min_size=1, max_size=12
).map("".join)


def dataset_named(names: list[str]) -> Dataset:
    """BASE with its VM points renamed round-robin to ``names`` (every name gets at least one point)."""
    points = list(BASE.vm_restore_points.values())
    assert len(points) >= len(names)
    renamed = {p.id: dataclasses.replace(p, vm_name=names[i % len(names)]) for i, p in enumerate(points)}
    return dataclasses.replace(BASE, vm_restore_points=renamed)


def run_url(service: QueryService, url: str) -> list[str]:
    """What the simulator answers for our URL: its query string parsed the way starlette parses it."""
    query_string = url.split("?", 1)[1]
    page = service.run(parse_query_params(QueryParams(query_string).multi_items()))
    return [p.id for p in page.items]


def near_misses(name: str) -> list[str]:
    candidates = [name, name + "x", "x" + name, name[:-1], name + '"', '"' + name, name + " ", *AWKWARD_NAMES, "sql01"]
    return list(dict.fromkeys(c for c in candidates if c))


@settings(max_examples=200, deadline=None)
@given(vm_names)
def test_any_vm_name_is_searched_literally(name: str) -> None:
    query = build_query(vm_name=name, page_size=100)
    expression = query.filter_expression()
    assert expression is not None
    assert parse_filter(expression) == Cmp("VmDisplayName", "==", name)

    names = near_misses(name)
    service = QueryService(dataset_named(names))
    found = run_url(service, query.url(SIM_ORIGIN + "/api", page=1))
    # EM (and the simulator) compare names case-insensitively; anything else must not match.
    expected = {p.id for p in service.dataset.vm_restore_points.values() if p.vm_name.casefold() == name.casefold()}
    assert expected  # the dataset holds the name itself
    assert set(found) == expected
    assert len(found) == len(expected)


@settings(max_examples=100, deadline=None)
@given(vm_names, vm_names)
def test_every_filter_value_stays_one_comparison(name: str, server: str) -> None:
    query = build_query(
        vm_name=name,
        created_after="2026-11-01T00:00:00+02:00",
        created_before="2026-11-20",
        algorithm="Incremental",
        point_type="Increment",
        backup_server=server,
    )
    expression = query.filter_expression()
    assert expression is not None
    assert parse_filter(expression) == And(
        (
            Cmp("VmDisplayName", "==", name),
            Cmp("CreationTime", ">=", "2026-10-31T22:00:00Z"),
            Cmp("CreationTime", "<", "2026-11-20T00:00:00Z"),
            Cmp("Algorithm", "==", "Incremental"),
            Cmp("Type", "==", "Increment"),
            Cmp("BackupServerName", "==", server),
        )
    )
    # And the URL carries that exact expression, nothing more: all reserved characters are encoded.
    params = QueryParams(query.url(SIM_ORIGIN + "/api", page=3).split("?", 1)[1]).multi_items()
    assert [k for k, _ in params] == ["type", "format", "filter", "sortDesc", "pageSize", "page"]
    assert dict(params)["filter"] == expression
    assert dict(params)["page"] == "3"


def test_quote_value_doubles_quotes_only() -> None:
    assert quote_value('a";Name!="x') == '"a"";Name!=""x"'
    assert quote_value("web,db (old)") == '"web,db (old)"'
    assert quote_value("") == '""'


def test_backup_server_id_filters_by_uid() -> None:
    guid = "9531985D-5D9D-49F8-9818-E811892F902B"
    for given_id in (guid, f"urn:veeam:BackupServer:{guid}"):
        expression = build_query(backup_server=given_id).filter_expression()
        assert expression == f'BackupServerUid=="urn:veeam:BackupServer:{guid.lower()}"'
    assert build_query(backup_server="vbr01.tech.local").filter_expression() == 'BackupServerName=="vbr01.tech.local"'


def test_no_filter_and_oldest_first() -> None:
    query = build_query(newest_first=False, page_size=5)
    assert query.filter_expression() is None
    assert query.url("https://em:9398/api", 2) == (
        "https://em:9398/api/query?type=VmRestorePoint&format=Entities&sortAsc=CreationTime&pageSize=5&page=2"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        ("2026-11-20T06:00", datetime(2026, 11, 20, 6, tzinfo=UTC)),  # no offset: UTC, not local time
        ("2026-11-20T06:00:00Z", datetime(2026, 11, 20, 6, tzinfo=UTC)),
        ("2026-11-20T08:00:00+02:00", datetime(2026, 11, 20, 6, tzinfo=UTC)),
        ("2026-11-20T01:00:00-05:00", datetime(2026, 11, 20, 6, tzinfo=UTC)),
        (" 2026-11-20T06:00:00.250Z ", datetime(2026, 11, 20, 6, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_user_times_are_read_as_utc(text: str, expected: datetime) -> None:
    assert parse_user_time(text, "created_after") == expected


@pytest.mark.parametrize("text", ["yesterday", "20/11/2026", "2026-13-01", "2026-11-20T25:00", ""])
def test_bad_times_are_refused_before_sending(text: str) -> None:
    with pytest.raises(InvalidArgument, match="created_before"):
        build_query(created_before=text)


def test_em_time_is_utc_with_z() -> None:
    assert em_time(datetime(2026, 11, 20, 8, tzinfo=UTC) + timedelta(microseconds=120000)) == "2026-11-20T08:00:00.12Z"
    assert em_time(datetime(2026, 11, 20, 8, tzinfo=UTC)) == "2026-11-20T08:00:00Z"


def test_empty_window_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="earlier than"):
        build_query(created_after="2026-11-20", created_before="2026-11-19T23:59:59Z")


# --- cursor ---------------------------------------------------------------------------------------------


def test_cursor_round_trips() -> None:
    query = dataclasses.replace(
        build_query(vm_name='a";Name!="x', created_after="2026-11-01", backup_server="vbr02", page_size=7),
        until="2026-11-20T10:03:04.8312345Z",
    )
    cursor = Cursor(query, page=4, skip=3)
    assert Cursor.decode(cursor.encode()) == cursor


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_string_is_a_valid_cursor_or_a_clear_refusal(text: str) -> None:
    try:
        Cursor.decode(text)
    except InvalidArgument as exc:
        assert "not one this server issued" in str(exc)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=255))
def test_altered_cursors_are_refused_or_still_valid(position: int, byte: int) -> None:
    text = Cursor(build_query(vm_name="sql01", page_size=10), page=2, skip=4).encode()
    index = position % len(text)
    altered = text[:index] + chr(byte) + text[index + 1 :]
    try:
        decoded = Cursor.decode(altered)
    except InvalidArgument:
        return
    # Base64 has a little slack in its last character; a cursor that still decodes must be a valid one.
    assert 1 <= decoded.page and 0 <= decoded.skip < decoded.query.page_size


@pytest.mark.parametrize(
    "payload",
    [
        {"v": 2},
        {"v": 1, "q": {}, "p": 1, "s": 0},
        {"v": 1, "q": {**dataclasses.asdict(VmPointQuery()), "page_size": 1000}, "p": 1, "s": 0},
        {"v": 1, "q": {**dataclasses.asdict(VmPointQuery()), "created_after": "now"}, "p": 1, "s": 0},
        {"v": 1, "q": {**dataclasses.asdict(VmPointQuery()), "vm_name": 5}, "p": 1, "s": 0},
        {"v": 1, "q": dataclasses.asdict(VmPointQuery()), "p": 0, "s": 0},
        {"v": 1, "q": dataclasses.asdict(VmPointQuery()), "p": 1, "s": 20},
        {"v": 1, "q": {**dataclasses.asdict(VmPointQuery()), "until": "soon"}, "p": 2, "s": 0},
    ],
)
def test_forged_cursors_are_refused(payload: dict[str, Any]) -> None:
    import base64
    import json

    text = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    with pytest.raises(InvalidArgument):
        Cursor.decode(text)


# --- QueryResult parsing, through the product's client against the simulator ------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("em_format", ["xml", "json"])
async def test_query_pages_parse_in_both_formats(transport: httpx.ASGITransport, dataset: Dataset, em_format: str) -> None:
    settings_ = make_settings(env={"VEEAM_EM_FORMAT": em_format})
    query = build_query(vm_name="sql01", page_size=7)
    async with EnterpriseManagerClient(settings_, transport=transport) as client:
        first = parse_query_page(await client.get(query.url(settings_.base_url, 1)), "VmRestorePoint")
        last = parse_query_page(
            await client.get(query.url(settings_.base_url, first.paging.pages_count)), "VmRestorePoint"
        )
        empty = parse_query_page(
            await client.get(build_query(vm_name="no such vm").url(settings_.base_url, 1)), "VmRestorePoint"
        )
    total = len(dataset.points_by_vm["sql01"])
    paging = first.paging
    assert (paging.page_num, paging.page_size, paging.pages_count) == (1, 7, -(-total // 7))
    assert paging.has_next and not last.paging.has_next
    assert [p.id for p in first.items] == [p.id for p in reversed(dataset.points_by_vm["sql01"])][:7]
    assert len(last.items) == total - 7 * (paging.pages_count - 1)
    assert list(empty.items) == [] and empty.paging.pages_count == 1 and not empty.paging.has_next


def test_a_non_query_result_is_malformed() -> None:
    with pytest.raises(MalformedResponse, match="not a QueryResult"):
        parse_query_page(Document(root="EntityReferences", data={"refs": []}), "VmRestorePoint")
    with pytest.raises(MalformedResponse, match="non-numeric"):
        parse_query_page(
            Document(root="QueryResult", data={"entities": None, "paging_info": {"page_num": "x", "page_size": 1}}),
            "VmRestorePoint",
        )


# --- end to end through the tool, with the awkward names of the demo data ------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("name", AWKWARD_NAMES)
async def test_awkward_names_through_the_tool(mcp_session: McpFactory, dataset: Dataset, name: str) -> None:
    expected = [p.id for p in reversed(dataset.points_by_vm[name])]
    assert expected
    seen: list[str] = []
    async with mcp_session() as client:
        arguments: dict[str, Any] = {"vm_name": name, "page_size": 7}
        while True:
            result = await client.call_tool("find_vm_restore_points", arguments)
            assert not result.is_error, result.content
            data = result.structured_content or {}
            shared = data.get("shared") or {}
            assert {{**shared, **p}["vm_name"] for p in data["restore_points"]} <= {name}
            seen += [p["id"] for p in data["restore_points"]]
            if not data.get("next_cursor"):
                break
            arguments = {"cursor": data["next_cursor"]}
    assert seen == expected


# --- OR filters over many ids stay short ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_or_filter_over_many_ids_is_read_in_chunks_of_short_urls(sim_app: Any, dataset: Dataset) -> None:
    """``read_any_of`` over 40 job sessions: every task of them, each once, in several reads whose URLs stay
    short (a long OR of UIDs would pass what a server or a proxy in front of EM accepts)."""
    from veeam_em_mcp.services.chunked_reads import ANY_OF_CHUNK, read_any_of
    from veeam_em_mcp.services.context import EmContext

    sessions = sorted(dataset.job_sessions)[:40]
    wanted = {t.id for t in dataset.task_sessions.values() if t.job_session_id in sessions}
    log = sim_app.state.sim.request_log
    async with EnterpriseManagerClient(make_settings(), transport=httpx.ASGITransport(app=sim_app)) as client:
        em = EmContext(make_settings(), client)
        before = len(log)
        read = await read_any_of(em, "BackupTaskSession", "JobSessionUid",
                                 [f"urn:veeam:BackupJobSession:{s}" for s in sessions] * 2)  # repeats read once
    queries = [path for _, path in log[before:] if path.startswith("/api/query")]
    assert {item.id for item in read.items} == wanted and len(read.items) == len(wanted)
    assert read.complete and read.issue is None
    assert len({path.split("filter=", 1)[-1] for path in queries}) >= -(-40 // ANY_OF_CHUNK)
    assert max(len(path) for path in queries) < 2_000, max(len(path) for path in queries)

"""Unit tests of the page-fitting helpers (``services.pages``, ``ResultBudget``) and the paging cursors
(``services.cursor``): the pieces every paged tool's answer is cut and continued with."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import BaseModel

from veeam_em_mcp.errors import InvalidArgument
from veeam_em_mcp.services.budget import ResultBudget
from veeam_em_mcp.services.cursor import decode_cursor, encode_cursor
from veeam_em_mcp.services.pages import ID_PLACEHOLDER, fit_items, share_fields

ORIGIN = "https://em.test:9398"


class Point(BaseModel):
    id: str
    name: str | None = None
    vm_name: str | None = None
    platform: str | None = None
    tags: list[str] = []
    collections: dict[str, str] | None = None


class Required(BaseModel):
    label: str
    platform: str | None = None


def point(ident: str, **fields: object) -> Point:
    return Point(id=ident, **fields)  # type: ignore[arg-type]


# --- share_fields ---------------------------------------------------------------------------------


def test_one_item_shares_nothing() -> None:
    only = point("a", vm_name="sql01")
    assert share_fields([only]) == ({}, [only])


def test_fields_with_one_value_in_every_item_move_to_the_page() -> None:
    shared, items = share_fields([point("a", vm_name="sql01", platform="VMware"), point("b", vm_name="sql01")])
    assert shared == {"vm_name": "sql01"}
    assert [item.vm_name for item in items] == [None, None]
    assert [item.platform for item in items] == ["VMware", None]  # differs: stays in the items


def test_identity_required_empty_and_excluded_fields_are_never_shared() -> None:
    same = {"name": "n", "tags": [], "platform": "HyperV"}
    shared, _ = share_fields([point("a", **same), point("a", **same)], never=("platform",))
    assert shared == {}  # id and name name the item, [] says nothing, platform was excluded
    required, _ = share_fields([Required(label="x"), Required(label="x")])
    assert required == {}  # a required field left out would make the row invalid


def test_collections_that_differ_only_by_the_id_are_shared_as_a_template() -> None:
    items = [point(i, collections={"mounts": f"/api/vmRestorePoints/{i}/mounts"}) for i in ("p1", "p2")]
    shared, rows = share_fields(items)
    assert shared == {"collections": {"mounts": f"/api/vmRestorePoints/{ID_PLACEHOLDER}/mounts"}}
    assert all(row.collections is None for row in rows)


def test_collections_without_the_id_in_them_are_not_a_template() -> None:
    items = [point("p1", collections={"x": "/api/a"}), point("p2", collections={"x": "/api/b"})]
    assert share_fields(items)[0] == {}


# --- fit_items and ResultBudget ------------------------------------------------------------------


def test_fit_items_counts_the_items_that_fit_beside_the_envelope_with_their_commas() -> None:
    budget = ResultBudget(max_chars=100, origin=ORIGIN)
    items = [point("abcdefgh")] * 10
    size = len(budget.json(items[0]))
    assert fit_items(budget, 0, items) == (100 + 1) // (size + 1)
    assert fit_items(budget, 100 - size, items) == 1
    assert fit_items(budget, 100 - size + 1, items) == 0
    assert fit_items(budget, 0, []) == 0


def test_the_budget_measures_relative_em_paths_and_the_demo_banner() -> None:
    model = point("a", collections={"mounts": f"{ORIGIN}/api/vmRestorePoints/a/mounts"})
    budget = ResultBudget(max_chars=10_000, origin=ORIGIN)
    assert '"/api/vmRestorePoints/a/mounts"' in budget.json(model)
    demo = ResultBudget(max_chars=10_000, origin=ORIGIN, demo=True)
    assert demo.size(model) > budget.size(model) and demo.mirror("{}").endswith("\n{}")


def test_longest_fitting_builds_the_largest_prefix_that_fits() -> None:
    budget = ResultBudget(max_chars=60, origin=ORIGIN)

    class Page(BaseModel):
        items: list[int]

    def build(count: int) -> Page:
        return Page(items=list(range(1000, 1000 + count)))

    page = budget.longest_fitting(40, build)
    assert budget.fits(page) and not budget.fits(build(len(page.items) + 1))
    assert budget.longest_fitting(2, build).items == [1000, 1001]


# --- cursors -------------------------------------------------------------------------------------


def test_a_cursor_round_trips_its_payload_url_safe() -> None:
    payload = {"vm": "sql01 ☃", "offset": 50, "nested": {"a": [1, 2]}}
    cursor = encode_cursor("job_sessions", payload)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor("job_sessions", f"  {cursor}\n", tool="find_job_sessions") == payload


def test_a_cursor_of_another_search_is_refused_naming_the_tool() -> None:
    cursor = encode_cursor("job_sessions", {"offset": 1})
    with pytest.raises(InvalidArgument, match="another tool's search, not to find_task_sessions"):
        decode_cursor("task_sessions", cursor, tool="find_task_sessions")


def test_a_cursor_from_before_searches_were_named_belongs_to_vm_restore_points() -> None:
    raw = json.dumps({"v": 1, "offset": 3}).encode()
    legacy = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert decode_cursor("vm_restore_points", legacy, tool="find_vm_restore_points") == {"offset": 3}


def _raw(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


@pytest.mark.parametrize(
    "text",
    [
        "not base64 at all!",
        encode_cursor("job_sessions", {"offset": 1})[:-3],  # truncated
        _raw({"v": 2, "t": "job_sessions"}),  # a version this server never issued
        _raw(["v", 1]),  # not an object
        _raw({"v": 1, "t": "job_sessions", "s": "\ud800"}),  # a lone surrogate
        _raw({"v": 1, "t": "job_sessions"}) + "A" * 5000,  # longer than any cursor issued
        base64.urlsafe_b64encode(b"[" * 100_000).decode(),  # nested past the recursion limit
    ],
    ids=["garbage", "truncated", "version", "not-object", "surrogate", "too-long", "deep"],
)
def test_anything_not_issued_by_this_server_is_refused(text: str) -> None:
    with pytest.raises(InvalidArgument, match="not one this server issued"):
        decode_cursor("job_sessions", text, tool="find_job_sessions")


# --- the kept answer (services.answers) ------------------------------------------------------------


def _report_row(name: str, **fields: object) -> dict[str, object]:
    return {"vm_name": name, "vm_id": f"urn:VMware:Vm:vc01.vm-{name}", "backup_server": "vbr01", "status": "met",
            "jobs": ["Backup Job 1"], "newest_point": "2026-12-01T00:00:00Z", "age_hours": 1.5, **fields}


@pytest.mark.parametrize("odd", [None, 2**70], ids=["orjson", "past-64-bits"])
def test_a_kept_answers_plain_rows_read_back_as_the_rows_a_page_validates(odd: int | None) -> None:
    """The snapshot a cursor reads back holds every plain row as the page would validate it, whichever writer wrote
    it: orjson, or pydantic_core's for what orjson refuses (an integer past 64 bits)."""
    from veeam_em_mcp.models.estate import ProtectionReport, ProtectionRow, ProtectionSummary, Window
    from veeam_em_mcp.services.answers import _snapshot

    rows = [_report_row("sql01", last_reason="Processing sql01 Error: ünïcödé \u2028", last_reason_chars=odd),
            _report_row("web01", jobs=None, age_hours=None, agent="AgentForWindows")]
    envelope = ProtectionReport(
        rows=[], summary=ProtectionSummary(vms=2, met=2, missed=0, never_backed_up=0, failed_last_run=0, running=0,
                                           copied=0, replicated=0, computers=1),
        summary_line="2 protected VMs: 2 meet the 24 h RPO, 0 miss it.", rpo_hours=24.0,
        as_of="2026-12-01T01:30:00Z", window=Window(created_after="2026-11-29T01:30:00Z", created_before=None),
        only_problems=False, returned=2, total=2, em_requests=5, note=None,
    )
    kept = ProtectionReport.model_validate_json(_snapshot(envelope, rows))
    assert kept.rows == [ProtectionRow.model_validate(row) for row in rows]
    assert kept.rows[0].last_reason_chars == odd
    assert kept.model_copy(update={"rows": []}) == envelope

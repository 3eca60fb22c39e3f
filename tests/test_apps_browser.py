"""Issue 18 as a person sees it: the protection report view rendered by headless Chromium inside a host page that
speaks the App protocol with the official ``@modelcontextprotocol/ext-apps`` (AppBridge), fed with a real result.

``tests/apps/drive.mjs`` does the browser part: the official TypeScript MCP client starts ``veeam-em-mcp serve``
over stdio (the demo estate, or a 5,000-VM simulator), reads the tool's view from the server, calls the tool, and
renders the view, which asks the host for the remaining rows with the result's cursor. This test checks what it
measured against the tool's result: one cell per VM, cells per state equal to the summary's counts, a failed VM's
reason shown on a click and by keyboard, every control reached with Tab, no request leaving the page. Screenshots
go to docs/images/ with UPDATE_SCREENSHOTS=1 (else to a temporary directory). Needs Debian's chromium (.ci/run installs it) and npm (.ci/apps-host.sh, run on first use).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from veeam_em_mcp.simulator.dataset import build_dataset
from veeam_em_mcp.simulator.runner import RunningSimulator

from .conftest import PASSWORD, USERNAME
from .http_server import console_script

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / ".ci" / "apps-host.sh"
DRIVER = ROOT / "tests" / "apps" / "drive.mjs"
DOCS_IMAGES = ROOT / "docs" / "images"


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: docs/images/ with UPDATE_SCREENSHOTS=1 (retake them on purpose, as the tool
    snapshots), else a temporary directory (taken and checked all the same, without touching the docs)."""
    if os.environ.get("UPDATE_SCREENSHOTS"):
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        return DOCS_IMAGES
    return tmp_path_factory.mktemp("screenshots")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def host_dir() -> str:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm/node are not installed: cannot install @modelcontextprotocol/ext-apps and playwright-core")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it: apt-get install -y chromium)")
    result = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        pytest.fail(f".ci/apps-host.sh failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return result.stdout.strip().splitlines()[-1]


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEEAM_EM_", "VEEAM_MCP_"))}
    env.update({"VEEAM_MCP_LOG_LEVEL": "WARNING", **(extra or {})})
    return env


def drive(host_dir: str, tool: str, command: list[str], env: dict[str, str], arguments: dict[str, Any],
          screenshots: dict[str, str]) -> dict[str, Any]:
    config = {"hostDir": host_dir, "chromium": CHROMIUM, "command": command, "env": env, "tool": tool,
              "arguments": arguments, "screenshots": screenshots}
    result = subprocess.run(["node", str(DRIVER), json.dumps(config)], capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, f"drive.mjs exited {result.returncode}:\n{result.stderr[-4000:]}"
    measured: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return measured


def check_keyboard_and_network(seen: dict[str, Any]) -> None:
    keyboard = seen["keyboard"]
    assert keyboard["controls"], "the view has no control"
    missing = [control for control in keyboard["controls"] if control not in keyboard["reached"]]
    assert not missing, f"Tab never reaches {missing} (reached {keyboard['reached']})"
    assert not seen["blocked"], f"the view asked the network for {seen['blocked']}"


def reason_reachable(seen: dict[str, Any], key: str) -> None:
    for how in ("clicked", "byKeyboard"):
        assert how in seen, f"no failed {key} to check ({how})"
        shown, reason = seen[how]["shown"], seen[how]["reason"]
        assert seen[how][key] in shown, f"{how}: {shown!r}"
        assert reason, f"{how}: EM gave no reason to show for {seen[how][key]}"
        assert reason.strip()[:200] in shown, f"{how}: {reason[:200]!r} not in {shown!r}"


def check_protection_report(seen: dict[str, Any]) -> None:
    summary = seen["result"]["summary"]
    cells = seen["cells"]
    assert cells["all"] == seen["result"]["total"] == summary["vms"], "one cell per VM of the report"
    assert cells["labelled"] == cells["all"], "every cell has a text alternative"
    assert cells["met"] == summary["met"]
    assert cells["missed"] == summary["missed"]
    assert cells["never"] == summary["never_backed_up"]
    assert cells["failed"] == summary["failed_last_run"]
    assert cells["running"] == summary["running"]
    assert seen["rowStates"] == {k: v for k, v in {"met": summary["met"], "missed": summary["missed"],
                                                   "never backed up": summary["never_backed_up"]}.items() if v}
    legend = " ".join(cells["legend"])
    assert f"RPO missed: {summary['missed']:,}" in legend and f"last run failed: {summary['failed_last_run']:,}" in legend
    if summary["failed_last_run"]:
        reason_reachable(seen, "vm")
    # Grouped by first job (the default), one group per job: a job name on two backup servers is two groups.
    assert seen["groupHeadings"] == seen["jobGroups"], f"{seen['groupHeadings']} groups for {seen['jobGroups']} jobs"
    walk = seen["groupsByKeyboard"]
    assert walk["groups"] > 1 and walk["at"] == walk["groups"] - 1, f"Page Down does not reach every group: {walk}"
    pages = seen["calls"]
    assert all(call["name"] == "protection_report" and set(call["arguments"]) == {"cursor"} for call in pages)


def check_job_runs(seen: dict[str, Any]) -> None:
    result, bars = seen["result"], seen["bars"]
    assert bars["all"] == result["total"], "one bar per run"
    assert bars["labelled"] == bars["all"], "every bar has a text alternative"
    assert bars["by"] == {k: v for k, v in result["counts"].items() if v}, "bars per outcome = the result's counts"
    if result["counts"]["failed"]:
        reason_reachable(seen, "run")


def check_repositories(seen: dict[str, Any]) -> None:
    drawn = {row["name"]: row for row in seen["repositories"]}
    repositories = seen["result"]["repositories"]
    assert len(drawn) == len(repositories)
    assert any(not r["size_known"] for r in repositories) and any("nearly full" in (r.get("note") or "") for r in repositories)
    for repository in repositories:
        row = drawn[repository["name"]]
        if not repository["size_known"]:
            assert row["state"] == "unknown" and row["now"] is None and "unknown" in row["text"], row
        else:
            assert float(row["now"]) == repository["used_percent"], row
            assert row["state"] == ("nearly-full" if "nearly full" in (repository.get("note") or "") else "ok"), row
            assert "free of" in row["text"], row
        if row["state"] == "nearly-full":
            assert row["words"].startswith("Nearly full."), row
    assert f"({seen['result']['totals']['counted']} counted)" in seen["totals"]


def check_vm_recovery(seen: dict[str, Any]) -> None:
    summary, points = seen["result"], seen["points"]
    assert points["all"] == summary["restore_point_count"] == seen["pointsRead"], "one mark per restore point"
    assert points["fulls"] == seen["fullsRead"]
    assert points["newest"] == 1
    chain = summary["chain"]
    assert chain["found"]
    assert points["chain"] == chain["points_after_full"] + 1 == seen["onlyChain"], "the chain: its full and increments"
    assert len(points["files"]) == len(chain["files"])
    assert f"{summary['restore_point_count']} restore points" in points["label"]
    assert {call["name"] for call in seen["calls"]} == {"find_vm_restore_points"}


CHECKS = {"protection_report": check_protection_report, "find_job_sessions": check_job_runs,
          "list_repositories": check_repositories, "vm_recovery_summary": check_vm_recovery}
# Small pages at the demo estate, so that each view that pages asks the host for the rest with the cursor.
DEMO_CALLS = {"protection_report": {"page_size": 10}, "find_job_sessions": {"page_size": 4}, "list_repositories": {},
              "vm_recovery_summary": {"vm_name": "app01"}}
SHOTS = {"protection_report": "protection-report", "find_job_sessions": "job-runs", "list_repositories": "repositories",
         "vm_recovery_summary": "vm-recovery"}


@pytest.mark.parametrize("tool", list(DEMO_CALLS))
def test_each_view_at_the_demo_estate(host_dir: str, images: Path, tool: str) -> None:
    shots = {"light": str(images / f"{SHOTS[tool]}.png")}
    if tool == "protection_report":
        shots["dark"] = str(images / f"{SHOTS[tool]}-dark.png")
    seen = drive(host_dir, tool, [*console_script(), "serve", "--demo"], server_env(), DEMO_CALLS[tool], shots)
    CHECKS[tool](seen)
    check_keyboard_and_network(seen)
    if tool in ("protection_report", "find_job_sessions"):
        assert any(set(call["arguments"]) == {"cursor"} for call in seen["calls"]), "the view never used the cursor"
    if "dark" in shots:
        assert seen["darkBackground"] != "rgb(255, 255, 255)"
    for path in seen["screenshots"].values():
        assert Path(path).stat().st_size > 5_000


def test_a_job_name_on_two_backup_servers_is_two_groups(host_dir: str, images: Path) -> None:
    # The twins estate: "SQL Backup" on vbr01 and on vbr02 (names repeat across servers; EM's ids tell them apart).
    with RunningSimulator(dataset=build_dataset(twins=True)) as simulator:
        env = server_env({"VEEAM_EM_URL": simulator.base_url, "VEEAM_EM_USERNAME": USERNAME,
                          "VEEAM_EM_PASSWORD": PASSWORD})
        seen = drive(host_dir, "protection_report", [*console_script(), "serve"], env, {"page_size": 10}, {})
    check_protection_report(seen)
    assert seen["jobGroups"] > seen["jobNames"], "the twins estate has a job name on two servers"


@pytest.fixture(scope="module")
def large_estate() -> Any:
    with RunningSimulator(dataset=build_dataset(vm_count=5000, days=3)) as simulator:
        yield simulator


LARGE_CALLS = {"protection_report": {"page_size": 200}, "find_job_sessions": {"page_size": 200},
               "list_repositories": {}, "vm_recovery_summary": {"vm_name": "app01"}}


@pytest.mark.parametrize("tool", list(LARGE_CALLS))
def test_each_view_at_5000_vms(host_dir: str, images: Path, large_estate: RunningSimulator, tool: str) -> None:
    env = server_env({"VEEAM_EM_URL": large_estate.base_url, "VEEAM_EM_USERNAME": USERNAME,
                      "VEEAM_EM_PASSWORD": PASSWORD})
    shots = {"light": str(images / "protection-report-5000.png")} if tool == "protection_report" else {}
    seen = drive(host_dir, tool, [*console_script(), "serve"], env, LARGE_CALLS[tool], shots)
    CHECKS[tool](seen)
    check_keyboard_and_network(seen)
    if tool == "protection_report":
        assert seen["result"]["total"] >= 5000
        assert len(seen["calls"]) >= 24, "5,000 rows in pages of 200: the view asks for the other 24 pages"

"""Issue 18 as a person sees it: the protection report view rendered by headless Chromium inside a host page that
speaks the App protocol with the official ``@modelcontextprotocol/ext-apps`` (AppBridge), fed with a real result.

``tests/apps/drive.mjs`` does the browser part: the official TypeScript MCP client starts ``veeam-em-mcp serve``
over stdio (the demo estate, or a 5,000-VM simulator), reads the tool's view from the server, calls the tool, and
renders the view, which asks the host for the remaining rows with the result's cursor. This test checks what it
measured against the tool's result: one cell per VM, cells per state equal to the summary's counts, a failed VM's
reason shown on a click and by keyboard, every control reached with Tab, no request leaving the page. Screenshots
go to docs/images/. Needs Debian's chromium (.ci/run installs it) and npm (.ci/apps-host.sh, run on first use).
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
IMAGES = ROOT / "docs" / "images"
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


def drive(host_dir: str, command: list[str], env: dict[str, str], arguments: dict[str, Any],
          screenshots: dict[str, str]) -> dict[str, Any]:
    config = {"hostDir": host_dir, "chromium": CHROMIUM, "command": command, "env": env, "tool": "protection_report",
              "arguments": arguments, "screenshots": screenshots}
    IMAGES.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["node", str(DRIVER), json.dumps(config)], capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, f"drive.mjs exited {result.returncode}:\n{result.stderr[-4000:]}"
    measured: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return measured


def check_what_a_person_sees(seen: dict[str, Any]) -> None:
    summary = seen["summary"]
    cells = seen["cells"]
    assert cells["all"] == seen["total"] == summary["vms"], "one cell per VM of the report"
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
        for how in ("clicked", "byKeyboard"):
            assert how in seen, f"no failed VM with a name of its own to check ({how})"
            shown, reason = seen[how]["shown"], seen[how]["reason"]
            assert seen[how]["vm"] in shown and reason.strip()[:200] in shown, f"{how}: {shown!r}"
    keyboard = seen["keyboard"]
    missing = [control for control in keyboard["controls"] if control not in keyboard["reached"]]
    assert not missing, f"Tab never reaches {missing} (reached {keyboard['reached']})"
    assert not seen["blocked"], f"the view asked the network for {seen['blocked']}"


def test_protection_report_view_at_the_demo_estate(host_dir: str) -> None:
    # Pages of 10: the demo estate's VMs come in several, so the view asks for the rest with the cursor.
    seen = drive(host_dir, [*console_script(), "serve", "--demo"], server_env(), {"page_size": 10},
                 {"light": str(IMAGES / "protection-report.png"), "dark": str(IMAGES / "protection-report-dark.png")})
    check_what_a_person_sees(seen)
    assert seen["calls"] >= 1, "the view asked for no further rows although the first result had a cursor"
    assert seen["darkBackground"] != "rgb(255, 255, 255)"
    for path in seen["screenshots"].values():
        assert Path(path).stat().st_size > 5_000


def test_protection_report_view_at_5000_vms(host_dir: str) -> None:
    with RunningSimulator(dataset=build_dataset(vm_count=5000, days=3)) as simulator:
        env = server_env({"VEEAM_EM_URL": simulator.base_url, "VEEAM_EM_USERNAME": USERNAME,
                          "VEEAM_EM_PASSWORD": PASSWORD})
        seen = drive(host_dir, [*console_script(), "serve"], env, {"page_size": 200},
                     {"light": str(IMAGES / "protection-report-5000.png")})
    assert seen["total"] >= 5000
    assert seen["calls"] >= 24, "5,000 rows in pages of 200: the view asks for the other 24 pages"
    check_what_a_person_sees(seen)

"""The benchmarks keep working: a quick run prints every figure (timings are reported, not asserted).

bench/run.py --quick prints all seven figures and writes them into one JSON file; bench/profile_call.py takes a
call apart into its layers. What is checked is that every figure is there and made of real measurements (counts
that cannot be anything else, sizes and ratios that are positive), never how fast anything was.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURE_LABELS = ("1a ", "1b ", "2  ", "3  ", "4  ", "5  ", "6  ", "7  ")


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=240, check=False, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_quick_benchmark_run_reports_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    done = run_bench(str(ROOT / "bench" / "run.py"), "--quick", "--output", str(output))
    lines = done.stdout.splitlines()
    for label in FIGURE_LABELS:
        assert any(line.startswith(label) for line in lines), (label, done.stdout)
    results = json.loads(output.read_text())

    for transport in ("in_process", "stdio"):
        call = results["tool_call"][transport]
        assert call["ratio_to_simple_floor"] > 0 and call["ratio_to_same_schema_floor"] > 0
        assert call["rounds"] == 30
    assert results["tool_call"]["same_schema"] is True, "the same-schema floor must publish the tool's schema"

    assert results["concurrency"]["steady"]["logons"] == 1
    assert results["concurrency"]["with_expiry"]["logons"] == 2
    assert results["concurrency"]["steady"]["errors"] == 0

    point, page = results["result_economy"]["point"], results["result_economy"]["page"]
    assert 0 < point["vs_em_xml"] and 0 < point["vs_em_json"]
    assert 1 <= page["returned_points"] <= page["page_size"] == 20

    assert results["query_scale"]["returned_points"] >= 1

    surface = results["tool_surface"]["tools"]
    assert "get_vm_restore_point" in surface and results["tool_surface"]["tools_list_chars"] > 0
    validation = results["validation"]
    assert set(validation["tools"]) | set(validation["skipped"]) == set(surface), "every tool is accounted for"
    assert all(figures["us_per_result"] > 0 for figures in validation["tools"].values())


def test_profile_takes_a_call_apart(tmp_path: Path) -> None:
    output = tmp_path / "profile.json"
    done = run_bench(str(ROOT / "bench" / "profile_call.py"), "--rounds", "20", "--output", str(output))
    assert "what each layer adds" in done.stdout
    layers = json.loads(output.read_text())["layers"]
    assert set(layers["medians_ms"]) >= {"bare_get", "tool", "noop_simple", "noop_same_schema"}
    assert all(value > 0 for value in layers["medians_ms"].values())


def test_protection_report_benchmark_reports_its_figures(tmp_path: Path) -> None:
    output = tmp_path / "protection.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "protection_report.py"), "--vm-count", "200", "--repeat", "1",
         "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ratio to floor" in done.stdout
    for figures in json.loads(output.read_text()):
        assert figures["vms_in_report"] >= 200 and figures["em_requests"] == figures["em_gets_recorded"]
        assert figures["answer_chars"] <= 20_000 and figures["ratio_to_floor"] > 0


def test_protection_scale_benchmark_reports_its_scenarios(tmp_path: Path) -> None:
    output = tmp_path / "scale.json"
    done = run_bench(str(ROOT / "bench" / "protection_scale.py"), "--quick", "--output", str(output))
    assert "protection_report (default arguments and settings)" in done.stdout
    results = json.loads(output.read_text())
    report, concurrent = results["summary"]["report 200"], results["summary"]["concurrent 200"]
    assert report["ok_calls"] == 2 and report["failed_calls"] == 0 and report["em_requests"][0] > 0
    assert report["floor_ms"] > 0 and report["peak_rss_mib"] >= report["idle_rss_mib"] > 0
    assert concurrent["succeeded"] == [4] and concurrent["peak_rss_mib"] > 0
    assert all(run["server"]["veeam_em_mcp"] == results["code"]["veeam_em_mcp"] for run in results["runs"]
               if run["scenario"] == "report"), "the server measured is the code under test"

"""The benchmark keeps working: a quick run prints all five figures (timings are reported, not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_run_reports_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for label in ("1a ", "1b ", "2  ", "3  ", "4  ", "5  "):
        assert any(line.startswith(label) for line in done.stdout.splitlines()), label
    results = json.loads(output.read_text())
    assert results["concurrency"]["steady"]["logons"] == 1
    assert results["concurrency"]["with_expiry"]["logons"] == 2
    assert results["concurrency"]["steady"]["errors"] == 0
    assert results["tool_call"]["in_process"]["ratio_to_floor"] > 0
    assert results["query_scale"]["returned_points"] >= 1

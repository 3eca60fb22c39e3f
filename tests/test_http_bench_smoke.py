"""The HTTP benchmark keeps working: a quick run prints its figures (reported, never asserted as times)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_http_benchmark_run_reports_its_figures(tmp_path: Path) -> None:
    output = tmp_path / "results_http.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "http_transport.py"), "--quick", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert any(line.startswith("1  2025-11-25 http - stdio") for line in done.stdout.splitlines()), done.stdout
    assert any(line.startswith("2  /healthz keep-alive") for line in done.stdout.splitlines()), done.stdout
    results = json.loads(output.read_text())
    for name in ("stdio 2025-11-25", "http 2025-11-25 (session)", "stdio 2026-07-28", "http 2026-07-28"):
        assert results["tool_call"][name]["median_ms"] > 0
    assert results["healthz"]["keep-alive"]["median_ms"] > 0
